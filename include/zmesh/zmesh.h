#ifndef ZMESH_ZMESH_H
#define ZMESH_ZMESH_H
/* The C API of an embedded zmesh node (libzmesh.so, pkg-config zmesh).
 *
 * Handles are opaque pointers. Every function that can fail returns a zmesh_result:
 * ZMESH_OK (0) or a negative code; zmesh_last_error() then tells why, in words, for the
 * calling thread. NULL handles, closed streams, stopped nodes and oversized buffers are
 * errors, never crashes.
 *
 * Threading: each node runs on one thread the library owns; every call is posted to it,
 * so any function may be called from any thread, on the same handle from several threads
 * at once. Callbacks run on that node thread: they may call any function with timeout 0
 * (blocking calls there fail with ZMESH_EWOULDBLOCK), must return soon, and must not call
 * zmesh_node_stop or zmesh_node_free.
 *
 * Timeouts are in milliseconds: < 0 waits without limit, 0 never waits.
 */
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define ZMESH_EXPORT __attribute__((visibility("default")))
#else
#define ZMESH_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum zmesh_result {
    ZMESH_OK = 0,
    ZMESH_EINVAL = -1,      /* a NULL handle or pointer, an empty host, port 0, ... */
    ZMESH_ESTOPPED = -2,    /* the node is stopped (or stopping) */
    ZMESH_ETIMEOUT = -3,    /* the timeout passed first */
    ZMESH_ECLOSED = -4,     /* the stream was closed, by this side or the other */
    ZMESH_ETOOBIG = -5,     /* more than ZMESH_MAX_WRITE bytes in one write */
    ZMESH_ENETWORK = -6,    /* no circuit, the exit could not connect, start failed */
    ZMESH_EWOULDBLOCK = -7, /* a blocking call from a callback (the node's own thread) */
    ZMESH_EINTERNAL = -8    /* a bug: please report the message */
} zmesh_result;

/* The largest buffer one zmesh_stream_write takes. */
#define ZMESH_MAX_WRITE ((size_t)16 << 20)

typedef struct zmesh_node zmesh_node;
typedef struct zmesh_stream zmesh_stream;

/* The library's version, "MAJOR.MINOR.PATCH". */
ZMESH_EXPORT const char* zmesh_version(void);
/* Why the last failed call of this thread failed; "" if none did. Valid until the next
 * call of this thread. */
ZMESH_EXPORT const char* zmesh_last_error(void);
/* A short name for a code ("timeout"). */
ZMESH_EXPORT const char* zmesh_strerror(int code);

/* ---- Nodes ---- */

typedef struct zmesh_testnet_options {
    int relays; /* relay nodes, the first also the bootstrap node (default 5) */
    int exits;  /* of which exits (default 2) */
    int hops;   /* circuit length (default 3) */
} zmesh_testnet_options;

/* Fills in the defaults. */
ZMESH_EXPORT void zmesh_testnet_options_init(zmesh_testnet_options* options);

/* Starts a whole network on loopback in this process (relays, a bootstrap node, exits
 * that may reach loopback) and a client node in it: for examples and tests. `options`
 * may be NULL (defaults). *out is set on success; free it with zmesh_node_free. */
ZMESH_EXPORT zmesh_result zmesh_testnet_start(const zmesh_testnet_options* options,
                                              zmesh_node** out);

/* Starts a client node that finds relays through the given bootstrap lines (as
 * `zmesh node` prints them: TRANSPORT://HOST:PORT#KEY...), builds circuits of `hops`
 * hops (0: 3). Keys live in memory only; nothing is written. */
ZMESH_EXPORT zmesh_result zmesh_client_start(const char* const* bootstrap_lines, size_t count,
                                             int hops, zmesh_node** out);

/* Waits until the client built its first circuit. ZMESH_ENETWORK when that failed. */
ZMESH_EXPORT zmesh_result zmesh_node_wait_ready(zmesh_node* node, int timeout_ms);

/* Stops the node gracefully (circuits closed, links given a short grace) and waits.
 * Streams of the node are closed; their handles stay valid until freed. Idempotent. */
ZMESH_EXPORT zmesh_result zmesh_node_stop(zmesh_node* node);

/* Stops the node if needed and frees the handle. NULL is ignored. */
ZMESH_EXPORT void zmesh_node_free(zmesh_node* node);

typedef struct zmesh_status {
    int running;
    char version[16];
    char node_id[72]; /* hex */
    uint64_t uptime_seconds;
    uint32_t client_circuits; /* open now */
    uint32_t relay_circuits;
    uint32_t streams;
    uint32_t peers;
    uint32_t relays_known;
    uint32_t guards;
    uint64_t circuits_built;
    uint64_t circuits_failed;
    uint64_t streams_opened;
    uint64_t streams_failed;
    uint64_t cells_relayed;
    uint64_t link_bytes_in;
    uint64_t link_bytes_out;
} zmesh_status;

/* The client node's status. */
ZMESH_EXPORT zmesh_result zmesh_node_status(zmesh_node* node, zmesh_status* out);

/* Every node's metrics in the Prometheus text format, a NUL-terminated string to free
 * with zmesh_free. */
ZMESH_EXPORT zmesh_result zmesh_node_metrics(zmesh_node* node, char** out);
ZMESH_EXPORT void zmesh_free(void* p);

typedef enum zmesh_event_kind {
    ZMESH_EVENT_CIRCUIT_BUILT = 1,
    ZMESH_EVENT_CIRCUIT_FAILED = 2,
    ZMESH_EVENT_CIRCUIT_CLOSED = 3,
    ZMESH_EVENT_STREAM_OPENED = 4,
    ZMESH_EVENT_STREAM_FAILED = 5,
    ZMESH_EVENT_OTHER = 6
} zmesh_event_kind;

/* `detail` is valid during the call only. Runs on the node thread. */
typedef void (*zmesh_event_callback)(void* user, zmesh_event_kind kind, uint64_t circuit,
                                     const char* detail);
/* Sets (or with NULL clears) the client node's event callback. */
ZMESH_EXPORT zmesh_result zmesh_node_set_event_callback(zmesh_node* node,
                                                        zmesh_event_callback callback,
                                                        void* user);

/* ---- Streams ---- */

/* Opens a stream to host:port through a circuit; streams of different `isolation`
 * groups (NULL: "") never share a circuit. */
ZMESH_EXPORT zmesh_result zmesh_stream_open(zmesh_node* node, const char* host, uint16_t port,
                                            const char* isolation, int timeout_ms,
                                            zmesh_stream** out);

/* Reads up to `size` bytes into `buf`: ZMESH_OK with *got > 0 bytes, or with *got == 0 at
 * the end of the stream (the other side finished). ZMESH_ETIMEOUT if none came in time,
 * ZMESH_ECLOSED if the stream was closed or reset (the message says why). */
ZMESH_EXPORT zmesh_result zmesh_stream_read(zmesh_stream* stream, void* buf, size_t size,
                                            int timeout_ms, size_t* got);

/* Writes all `size` bytes, waiting for room (back-pressure) up to the timeout.
 * ZMESH_ETIMEOUT when only part was taken; *written (may be NULL) says how much. */
ZMESH_EXPORT zmesh_result zmesh_stream_write(zmesh_stream* stream, const void* data,
                                             size_t size, int timeout_ms, size_t* written);

/* Ends the sending direction once the written bytes are sent; reading goes on. */
ZMESH_EXPORT zmesh_result zmesh_stream_finish(zmesh_stream* stream);

/* Ends the stream in both directions now. Idempotent. */
ZMESH_EXPORT zmesh_result zmesh_stream_close(zmesh_stream* stream);

/* 1 while the stream is open (neither ended nor closed), else 0. */
ZMESH_EXPORT int zmesh_stream_is_open(zmesh_stream* stream);

typedef enum zmesh_stream_event {
    ZMESH_STREAM_READABLE = 1, /* bytes to read, or the end */
    ZMESH_STREAM_WRITABLE = 2, /* room to write again */
    ZMESH_STREAM_CLOSED = 3    /* the stream ended */
} zmesh_stream_event;

typedef void (*zmesh_stream_callback)(void* user, zmesh_stream* stream, zmesh_stream_event event);
/* Sets (or with NULL clears) the stream's callback. Runs on the node thread; read and
 * write there with timeout 0. The stream handle must outlive the callback's use. */
ZMESH_EXPORT zmesh_result zmesh_stream_set_callback(zmesh_stream* stream,
                                                    zmesh_stream_callback callback, void* user);

/* Closes the stream if needed and frees the handle. NULL is ignored. */
ZMESH_EXPORT void zmesh_stream_free(zmesh_stream* stream);

#ifdef __cplusplus
}
#endif

#endif /* ZMESH_ZMESH_H */
