/* The HTTP response reader: status line, headers, 1xx, framing (content-length, chunked, to EOF, none),
 * and the body pulled through http_body_read. The first input byte chooses a HEAD request (bit 0) and
 * seeds the read sizes; the rest is the response, served by an in-memory peer (fuzz_http.h) whole, one
 * byte per read and in random pieces. All three must agree, the body must match an independent decoder,
 * and the reader must stop exactly where the body ends.
 * A small read buffer makes the reader refill often; small header limits are reached by small inputs.
 * fuzz-cflags: -DAG_HTTP_RBUF=16 -DAG_HTTP_HEADER_MAX=512 */
#include "fuzz.h"
#include "fuzz_http.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	http_check(data + 1, size - 1, data[0] & 1, data[0] >> 1 | (unsigned)size << 8);
	return 0;
}
