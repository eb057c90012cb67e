/*
 * imap_script.h: an IMAP server played from a script, for syncmigrate's
 * unit tests and fuzz_imap.  A libetpan stream driver reads the server's
 * side of the conversation from a buffer (answers in order, with the
 * tags the client will use: they do not wait for the questions) and
 * keeps or drops what the client writes.  The end of the script is the
 * end of the connection, an error, as with mig_tls.c's driver.
 */

#ifndef IMAP_SCRIPT_H
#define IMAP_SCRIPT_H

#include <libetpan/libetpan.h>

struct imap_script {
	const char	*p;		/* the server's bytes not read yet */
	size_t		 len;
	int		 keep;		/* keep what the client writes */
	char		*out;		/* what it wrote, NUL-terminated */
	size_t		 outlen;
};

/* A stream on the script; the script stays the caller's to free. */
mailstream	*imap_script_stream(struct imap_script *);

#endif
