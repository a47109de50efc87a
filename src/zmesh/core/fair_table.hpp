#pragma once
// A bounded table of entries that sources (addresses, links) create on their own behalf,
// such as half-received messages, where one source must not crowd out the others.
//
// Each entry is named by its source and an id the source picks. A source holds at most
// `per_source` entries and the table `total`. Inserting never fails: a source at its
// share loses its own oldest entry; in a full table, the source holding the most loses
// its oldest (among equals, the source with the oldest entry). So a flood from one source
// only ever displaces its own entries, and a flood from many small sources displaces the
// oldest, which a real peer finishes long before a flood reaches it.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <utility>

namespace zmesh {

template <class Source, class Id, class Value>
class FairTable {
  public:
    FairTable(std::size_t per_source, std::size_t total) : per_source_(per_source), total_(total) {}

    Value* find(const Source& source, const Id& id) {
        auto it = entries_.find({source, id});
        return it == entries_.end() ? nullptr : &it->second.value;
    }

    // Inserts (or replaces) the entry, displacing another one if the limits demand it.
    Value& insert(const Source& source, const Id& id, Value value) {
        if (auto* existing = find(source, id)) {
            *existing = std::move(value);
            return *existing;
        }
        make_room(source);
        auto& e = entries_[{source, id}];
        e.value = std::move(value);
        e.serial = next_serial_++;
        by_source_[source].push_back(id);
        return e.value;
    }

    void erase(const Source& source, const Id& id) {
        auto it = entries_.find({source, id});
        if (it != entries_.end()) erase(it);
    }

    // Every entry of one source (a link that closed).
    void erase_source(const Source& source) {
        auto it = by_source_.find(source);
        if (it == by_source_.end()) return;
        for (const Id& id : it->second) entries_.erase({source, id});
        by_source_.erase(it);
    }

    template <class Pred>  // Pred(const Value&) -> bool
    void erase_if(Pred pred) {
        for (auto it = entries_.begin(); it != entries_.end();) {
            auto next = std::next(it);
            if (pred(it->second.value)) erase(it);
            it = next;
        }
    }

    template <class F>  // F(const Value&)
    void for_each(F f) const {
        for (const auto& [key, e] : entries_) f(e.value);
    }

    void clear() {
        entries_.clear();
        by_source_.clear();
    }
    std::size_t size() const { return entries_.size(); }
    std::size_t from_source(const Source& source) const {
        auto it = by_source_.find(source);
        return it == by_source_.end() ? 0 : it->second.size();
    }
    // Entries displaced by newer ones since construction.
    std::uint64_t evicted() const { return evicted_; }

  private:
    struct Entry {
        Value value{};
        std::uint64_t serial = 0;  // insertion order
    };
    using Map = std::map<std::pair<Source, Id>, Entry>;

    void erase(typename Map::iterator it) {
        auto src = by_source_.find(it->first.first);
        if (src != by_source_.end()) {
            std::erase(src->second, it->first.second);
            if (src->second.empty()) by_source_.erase(src);
        }
        entries_.erase(it);
    }

    void make_room(const Source& source) {
        auto victim = by_source_.find(source);
        if (victim == by_source_.end() || victim->second.size() < per_source_) {
            if (entries_.size() < total_) return;
            victim = by_source_.end();
            std::uint64_t oldest = 0;
            for (auto it = by_source_.begin(); it != by_source_.end(); ++it) {
                std::uint64_t serial = entries_.at({it->first, it->second.front()}).serial;
                if (victim == by_source_.end() || it->second.size() > victim->second.size() ||
                    (it->second.size() == victim->second.size() && serial < oldest)) {
                    victim = it;
                    oldest = serial;
                }
            }
            if (victim == by_source_.end()) return;
        }
        ++evicted_;
        erase(entries_.find({victim->first, victim->second.front()}));
    }

    std::size_t per_source_;
    std::size_t total_;
    Map entries_;
    std::map<Source, std::deque<Id>> by_source_;  // each source's ids, oldest first
    std::uint64_t next_serial_ = 0;
    std::uint64_t evicted_ = 0;
};

}  // namespace zmesh
