/* Starts a zmesh network on loopback inside this process, fetches http://HOST:PORT/PATH
 * through a 3-hop circuit and prints the SHA-256 of the body (the C API).
 *   fetch_c HOST PORT PATH */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmesh/zmesh.h>

static int fail(const char* what) {
    fprintf(stderr, "fetch_c: %s: %s\n", what, zmesh_last_error());
    return 1;
}

/* Reads the whole response; *size its length. NULL on error. */
static char* read_all(zmesh_stream* s, size_t* size) {
    size_t cap = 1 << 16, len = 0;
    char* buf = malloc(cap);
    for (;;) {
        size_t got = 0;
        if (!buf) return NULL;
        if (zmesh_stream_read(s, buf + len, cap - len, 30000, &got) != ZMESH_OK) {
            free(buf);
            return NULL;
        }
        if (got == 0) break; /* the end */
        len += got;
        if (len == cap) {
            char* more = realloc(buf, cap *= 2);
            if (!more) free(buf);
            buf = more;
        }
    }
    *size = len;
    return buf;
}

static void print_sha256(const unsigned char* data, size_t size) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(data, size, digest, &n, EVP_sha256(), NULL);
    for (unsigned int i = 0; i < n; ++i) printf("%02x", digest[i]);
    printf("\n");
}

int main(int argc, char** argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s HOST PORT PATH\n", argv[0]);
        return 2;
    }
    const char* host = argv[1];
    uint16_t port = (uint16_t)atoi(argv[2]);

    zmesh_testnet_options options;
    zmesh_testnet_options_init(&options);
    options.hops = 3;
    zmesh_node* node = NULL;
    if (zmesh_testnet_start(&options, &node) != ZMESH_OK) return fail("testnet");
    if (zmesh_node_wait_ready(node, 60000) != ZMESH_OK) return fail("first circuit");

    zmesh_stream* stream = NULL;
    if (zmesh_stream_open(node, host, port, NULL, 60000, &stream) != ZMESH_OK) {
        return fail("open");
    }
    char request[1024];
    int n = snprintf(request, sizeof request,
                     "GET %s HTTP/1.0\r\nHost: %s:%u\r\nConnection: close\r\n\r\n", argv[3], host,
                     (unsigned)port);
    if (n < 0 || (size_t)n >= sizeof request) return 2;
    if (zmesh_stream_write(stream, request, (size_t)n, 30000, NULL) != ZMESH_OK) {
        return fail("write");
    }
    size_t size = 0;
    char* response = read_all(stream, &size);
    if (!response) return fail("read");

    const char* end = NULL;
    for (size_t i = 0; i + 4 <= size; ++i) {
        if (memcmp(response + i, "\r\n\r\n", 4) == 0) {
            end = response + i + 4;
            break;
        }
    }
    if (!end || strncmp(response, "HTTP/1.0 200", 12) != 0) {
        fprintf(stderr, "fetch_c: not a 200 response\n");
        return 1;
    }
    print_sha256((const unsigned char*)end, size - (size_t)(end - response));

    zmesh_status status;
    if (zmesh_node_status(node, &status) == ZMESH_OK) {
        fprintf(stderr, "fetch_c: %zu bytes; circuits built %llu, streams opened %llu\n", size,
                (unsigned long long)status.circuits_built,
                (unsigned long long)status.streams_opened);
    }
    free(response);
    zmesh_stream_free(stream);
    zmesh_node_free(node);
    return 0;
}
