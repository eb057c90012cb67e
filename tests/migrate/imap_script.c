/*
 * imap_script.c: an IMAP server played from a script (imap_script.h).
 */

#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "imap_script.h"

static ssize_t
imap_script_read(mailstream_low *low, void *buf, size_t count)
{
	struct imap_script *s = low->data;

	if (s->len == 0)
		return -1;
	if (count > s->len)
		count = s->len;
	memcpy(buf, s->p, count);
	s->p += count;
	s->len -= count;
	return (ssize_t)count;
}

static ssize_t
imap_script_write(mailstream_low *low, const void *buf, size_t count)
{
	struct imap_script *s = low->data;

	if (!s->keep)
		return (ssize_t)count;
	s->out = xreallocarray(s->out, s->outlen + count + 1, 1);
	memcpy(s->out + s->outlen, buf, count);
	s->outlen += count;
	s->out[s->outlen] = '\0';
	return (ssize_t)count;
}

static int
imap_script_close(mailstream_low *low)
{
	(void)low;
	return 0;
}

static int
imap_script_fd(mailstream_low *low)
{
	(void)low;
	return -1;
}

static void
imap_script_free(mailstream_low *low)
{
	free(low);
}

static void
imap_script_cancel(mailstream_low *low)
{
	(void)low;
}

static mailstream_low_driver imap_script_driver = {
	imap_script_read, imap_script_write, imap_script_close,
	imap_script_fd, imap_script_free, imap_script_cancel,
	NULL, NULL, NULL, NULL, NULL,
};

mailstream *
imap_script_stream(struct imap_script *s)
{
	mailstream_low *low;
	mailstream *stream;

	if ((low = mailstream_low_new(s, &imap_script_driver)) == NULL ||
	    (stream = mailstream_new(low, 8192)) == NULL)
		fatalx("imap_script_stream: out of memory");
	return stream;
}
