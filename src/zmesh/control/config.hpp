#pragma once
// Node configuration: every option declared once (section, key, type, default, comment,
// validator); loaded from TOML, then overridden by ZMESH_<SECTION>_<KEY> environment
// variables, then by --set section.key=value flags. Errors name the key, the line and
// what is allowed.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace zmesh::control {

using Value = std::variant<bool, std::int64_t, double, std::string, std::vector<std::string>>;

enum class OptionType { boolean, integer, number, string, string_list };

struct Option {
    std::string section;
    std::string key;
    OptionType type;
    Value fallback;       // the default
    std::string comment;  // shown by `config init` and `config show`
    // nullopt when fine, else what is allowed ("an integer from 2 to 8").
    std::function<std::optional<std::string>(const Value&)> check;
    bool reloadable = false;  // may change on SIGHUP
    std::string name() const { return section + "." + key; }
};

const std::vector<Option>& options();
const Option* find_option(const std::string& name);

struct ConfigError {
    std::string key;  // "section.key" (or the offending name)
    int line = 0;     // 0 when not from the file
    std::string message;
};

class Config {
  public:
    const Value& get(const std::string& name) const;
    bool boolean(const std::string& name) const { return std::get<bool>(get(name)); }
    std::int64_t integer(const std::string& name) const {
        return std::get<std::int64_t>(get(name));
    }
    double number(const std::string& name) const { return std::get<double>(get(name)); }
    const std::string& string(const std::string& name) const {
        return std::get<std::string>(get(name));
    }
    // Options that differ from their defaults, by name.
    std::map<std::string, Value> explicit_values() const { return values_; }
    void set(const std::string& name, Value v) { values_[name] = std::move(v); }

  private:
    std::map<std::string, Value> values_;
};

struct Loaded {
    Config config;
    std::vector<ConfigError> errors;
    bool ok() const { return errors.empty(); }
};

using Environment = std::map<std::string, std::string>;

Loaded load_config(std::string_view toml_text, const Environment& env,
                   const std::vector<std::string>& overrides);
Environment process_environment();

// TOML of the given config (explicit values, or every option with defaults).
std::string render_config(const Config& c, bool with_defaults);
// A commented file with every option at its default: `zmesh config init`.
std::string default_config_file();

}  // namespace zmesh::control
