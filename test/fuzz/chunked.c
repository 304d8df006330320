/* The chunked decoder: the input is a chunked body (sizes, extensions, data, trailers) behind a fixed head
 * that says transfer-encoding: chunked. The first byte picks the head's variant (HTTP/1.0, connection:
 * close, a content-length as well) and seeds the read sizes. The decoded body must match an independent
 * decoder (fuzz_http.h), whole, one byte at a time and in random pieces, and the reader must stop exactly
 * after the last chunk's trailers.
 * fuzz-cflags: -DAG_HTTP_RBUF=16 */
#include "fuzz.h"
#include "fuzz_http.h"

static unsigned char msg[16384];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int n;
	if (size < 1 || size > sizeof msg - 200)
		return 0;
	n = snprintf((char *)msg, sizeof msg, "HTTP/1.%d 200 OK\r\n%stransfer-encoding: chunked\r\n%s\r\n",
	             data[0] & 1 ? 0 : 1, data[0] & 2 ? "connection: close\r\n" : data[0] & 8 ? "connection: keep-alive\r\n" : "",
	             data[0] & 4 ? "content-length: 5\r\n" : "");
	memcpy(msg + n, data + 1, size - 1);
	http_check(msg, (size_t)n + size - 1, 0, data[0] >> 4 | (unsigned)size << 4);
	return 0;
}
