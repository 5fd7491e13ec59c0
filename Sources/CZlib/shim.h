#include <zlib.h>

// zlib's inflateInit2/deflateInit2 are macros (they pass the library version and the size of
// z_stream), which Swift cannot call; these wrappers open a stream for the gzip format
// (window bits 15, +16 for the gzip header and trailer).
static inline int erx_inflate_init_gzip(z_stream *stream) {
    return inflateInit2(stream, 16 + MAX_WBITS);
}

static inline int erx_deflate_init_gzip(z_stream *stream) {
    return deflateInit2(stream, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
}
