/*
 * dotdata.c: text that ends with a line holding only "." (RFC 3977
 * section 3.1.1, RFC 5321 section 4.5.2), as both an NNTP article and
 * SMTP DATA arrive: read from a bufferevent's input as it comes, with the
 * dot-stuffing undone.  Text over its limit is still read to its end, so
 * that the client hears the refusal in step with what it sent.
 */

#include <stdlib.h>

#include <event2/buffer.h>

#include "common.h"
#include "syncd.h"

int
dotdata_read(struct evbuffer *in, struct evbuffer *out, long long max,
    enum dotdata_refusal *refusal_r, int crlf_only)
{
	size_t n;
	char *line;

	for (;;) {
		line = evbuffer_readln(in, &n, crlf_only ?
		    EVBUFFER_EOL_CRLF_STRICT : EVBUFFER_EOL_CRLF);
		if (line == NULL) {
			/*
			 * A line too long to keep: drop it.  At exactly the
			 * limit already, for with its CRLF still to come it
			 * is over, and a server whose input stops at the
			 * limit (SMTP's) would otherwise wait for ever.
			 */
			if (evbuffer_get_length(in) >= DOTDATA_LINE_MAX) {
				if (*refusal_r == DOTDATA_OK)
					*refusal_r = DOTDATA_LINE_TOO_LONG;
				evbuffer_drain(in, evbuffer_get_length(in));
			}
			return 0;
		}
		if (n == 1 && line[0] == '.') {
			free(line);
			return 1;
		}
		if (*refusal_r == DOTDATA_OK) {
			if ((long long)(evbuffer_get_length(out) + n + 2) > max)
				*refusal_r = DOTDATA_TOO_BIG;
			else {
				evbuffer_add(out, line + (line[0] == '.'),
				    n - (line[0] == '.'));
				evbuffer_add(out, "\r\n", 2);
			}
		}
		free(line);
	}
}
