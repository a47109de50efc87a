// Starts a zmesh network on loopback inside this process, fetches http://HOST:PORT/PATH
// through a 3-hop circuit and prints the SHA-256 of the body (the C++ API).
//   fetch_cpp HOST PORT PATH
#include <openssl/evp.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <zmesh/zmesh.hpp>

namespace {

std::string sha256_hex(std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(data.data(), data.size(), digest, &n, EVP_sha256(), nullptr);
    std::string hex;
    char two[3];
    for (unsigned int i = 0; i < n; ++i) {
        std::snprintf(two, sizeof two, "%02x", digest[i]);
        hex += two;
    }
    return hex;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::cerr << "usage: " << argv[0] << " HOST PORT PATH\n";
        return 2;
    }
    const std::string host = argv[1];
    const auto port = static_cast<std::uint16_t>(std::stoi(argv[2]));
    try {
        zmesh::TestnetOptions options;
        options.hops = 3;
        zmesh::Node node = zmesh::Node::start_testnet(options);
        node.wait_ready(std::chrono::seconds(60));

        zmesh::Stream stream = node.open_stream(host, port, std::chrono::seconds(60));
        stream.write("GET " + std::string(argv[3]) + " HTTP/1.0\r\nHost: " + host + ":" +
                     std::to_string(port) + "\r\nConnection: close\r\n\r\n");
        std::string response = stream.read_all(std::chrono::seconds(60));

        auto end = response.find("\r\n\r\n");
        if (end == std::string::npos || response.rfind("HTTP/1.0 200", 0) != 0) {
            std::cerr << "fetch_cpp: not a 200 response\n";
            return 1;
        }
        std::cout << sha256_hex(std::string_view(response).substr(end + 4)) << "\n";
        auto status = node.status();
        std::cerr << "fetch_cpp: " << response.size() << " bytes; circuits built "
                  << status.circuits_built << ", streams opened " << status.streams_opened << "\n";
        node.stop();
    } catch (const zmesh::Error& e) {
        std::cerr << "fetch_cpp: " << e.what() << " (" << zmesh_strerror(e.code()) << ")\n";
        return 1;
    }
    return 0;
}
