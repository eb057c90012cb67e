/*
 * mailout.c: what news and forum posts look like on their way to a list,
 * and the notice that tells their author when the list refused one.
 *
 * The mail side's egress work (the router knows no medium): the stored
 * message loses what only news carries (Path, Newsgroups, Xref, the
 * injection fields, a news Approved), and the List-* fields, which are
 * the list's to add (RFC 2369, RFC 2919); it is addressed To the list,
 * keeps its Message-ID, and carries our gateway header so that the
 * list's copy is known as ours when it comes back; raw 8-bit header
 * text, which news carries, goes as RFC 2047 encoded words.  Per
 * channel the author stays in From, or, for lists whose subscribers'
 * providers check DMARC, From becomes "Name via host" <gateway address>
 * and Reply-To the author.  A list-password goes into Approved, which
 * Mailman takes as the moderator's approval and removes.
 *
 * smtp_client.c calls both for each delivery; neither blocks.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "syncd.h"
#include "smtp.h"

/* What news and the list's own decoration leave behind. */
static const char *const mailout_drop[] = {
	"Path", "Newsgroups", "Followup-To", "Xref", "Distribution",
	"Approved", "Control", "Supersedes", "Expires", "Lines",
	"Injection-Info", "Injection-Date", "NNTP-Posting-Host",
	"NNTP-Posting-Date", "X-Trace", "X-Complaints-To", "Sender",
	"Return-Path", "Delivered-To", "List-Id", "List-Post", "List-Help",
	"List-Subscribe", "List-Unsubscribe", "List-Archive", "List-Owner",
	GATEWAY_HEADER, NULL
};

/*
 * A display name for a From phrase: as a quoted string when it is ASCII,
 * else as RFC 2047 words (which may not stand inside quotes).
 */
static char *
mailout_phrase(const char *utf8)
{
	char *enc, *q, *p;
	const char *s;

	enc = rfc2047_encode(utf8, "From");
	if (strcmp(enc, utf8) != 0)
		return enc;
	free(enc);
	q = p = xmalloc(2 * strlen(utf8) + 3);
	*p++ = '"';
	for (s = utf8; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			*p++ = '\\';
		*p++ = *s == '\r' || *s == '\n' ? ' ' : *s;
	}
	*p++ = '"';
	*p = '\0';
	return q;
}

/* Fields of free text, which RFC 2047 may encode as a whole. */
static const char *const mailout_unstructured[] = {
	"Subject", "Comments", "Keywords", "Organization", "Summary",
	"Content-Description", "User-Agent", "X-Newsreader", NULL
};

static int
mailout_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

/*
 * Mail header text is ASCII (RFC 5322 section 2.2, and we do not ask
 * the MTA for SMTPUTF8), but news readers and servers pass raw UTF-8
 * (and sometimes Latin-1) in headers along, and a list manager cannot
 * read it: Mailman labels it unknown-8bit when it adds its subject tag.  So the
 * text fields and the author's name go out as RFC 2047 encoded words,
 * decoded first, so that raw bytes that are not UTF-8 are read as
 * windows-1252, as the reactor reads them in list mail.  Other
 * structured fields with 8-bit bytes are rare in news and kept as they
 * are: rewriting an address list blind could break it.
 */
static void
mailout_8bit(struct msg *msg)
{
	struct msg_header *h;
	char *u, *dec, *name = NULL, *addr = NULL, *phrase, *v;
	size_t i, k;
	int from = 0;

	for (i = 0; i < msg->nheaders; i++) {
		h = &msg->headers[i];
		if (mailout_ascii(h->value))
			continue;
		if (strcasecmp(h->name, "From") == 0) {
			from = 1;
			continue;
		}
		for (k = 0; mailout_unstructured[k] != NULL &&
		    strcasecmp(h->name, mailout_unstructured[k]) != 0; k++)
			;
		if (mailout_unstructured[k] == NULL)
			continue;
		u = msg_unfold(h->value);
		dec = rfc2047_decode(u);
		free(h->value);
		h->value = rfc2047_encode(dec, h->name);
		free(dec);
		free(u);
	}
	if (from && msg_mailbox(msg, &name, &addr) == 0) {
		if (name != NULL && *name != '\0') {
			phrase = mailout_phrase(name);
			v = xasprintf("%s <%s>", phrase, addr);
			free(phrase);
		} else
			v = xstrdup(addr);
		msg_set(msg, "From", v);
		free(v);
	}
	free(name);
	free(addr);
}

/* From: "Name via host" <gateway>, and Reply-To the author. */
static void
mailout_rewrite_from(const struct conf *conf, const struct conf_channel *c,
    struct msg *msg)
{
	char *name, *addr, *via, *phrase, *from, *orig;

	if (msg_mailbox(msg, &name, &addr) == -1)
		return;
	if (name == NULL)
		name = xstrndup(addr, strcspn(addr, "@"));
	via = xasprintf("%s via %s", name, conf->hostname);
	phrase = mailout_phrase(via);
	from = xasprintf("%s <%s>", phrase, c->gateway_address);
	if (msg_get(msg, "Reply-To") == NULL &&
	    (orig = msg_get_unfolded(msg, "From")) != NULL) {
		msg_add(msg, "Reply-To", orig);
		free(orig);
	}
	msg_set(msg, "From", from);
	free(from);
	free(phrase);
	free(via);
	free(name);
	free(addr);
}

/*
 * Mail cannot be edited: a message that supersedes another (RFC 5536
 * section 3.2.12) reaches the list as a correction, in the thread of
 * the message it corrects.
 */
static void
mailout_correction(struct msg *msg)
{
	char *v, *old, *subject, *tmp, *refs;

	if ((v = msg_get_unfolded(msg, "Supersedes")) == NULL)
		return;
	old = msgid_extract(v);
	free(v);
	if (old == NULL)
		return;
	subject = msg_subject(msg);
	if (subject == NULL || strncasecmp(subject, "Correction:", 11) != 0) {
		tmp = xasprintf("Correction: %s", subject != NULL ? subject :
		    "");
		v = rfc2047_encode(tmp, "Subject");
		msg_set(msg, "Subject", v);
		free(v);
		free(tmp);
	}
	free(subject);
	refs = msg_get_unfolded(msg, "References");
	if (refs == NULL || strstr(refs, old) == NULL) {
		tmp = refs != NULL ? xasprintf("%s %s", refs, old) :
		    xstrdup(old);
		msg_set(msg, "References", tmp);
		free(tmp);
	}
	msg_set(msg, "In-Reply-To", old);
	free(refs);
	free(old);
}

char *
mailout_shape(const struct conf *conf, const struct conf_channel *c,
    const char *raw, size_t len, size_t *len_r, const char **err_r)
{
	struct msg *msg;
	char *out;
	size_t i;

	if (msg_parse(raw, len, &msg, err_r) == -1)
		return NULL;
	mailout_correction(msg);
	mailout_8bit(msg);
	for (i = 0; mailout_drop[i] != NULL; i++)
		msg_remove(msg, mailout_drop[i]);
	msg_set(msg, "To", c->list);
	if (c->list_from == LIST_FROM_REWRITE && c->gateway_address != NULL)
		mailout_rewrite_from(conf, c, msg);
	if (c->list_password != NULL)
		msg_set(msg, "Approved", c->list_password);
	msg_add(msg, GATEWAY_HEADER, conf->path_identity);
	out = msg_build(msg, len_r);
	msg_free(&msg);
	return out;
}

char *
mailout_notice(const struct conf *conf, const struct conf_channel *c,
    const char *raw, size_t len, const char *why, char **rcpt_r,
    size_t *len_r)
{
	struct msg *orig, *n;
	const char *err, *as;
	char *name = NULL, *addr = NULL, *subject, *v, *body, *out, *id;

	*rcpt_r = NULL;
	if (msg_parse(raw, len, &orig, &err) == -1)
		return NULL;
	/* RFC 3834 section 2: no answer to automated mail. */
	as = msg_get(orig, "Auto-Submitted");
	if ((as != NULL && strncasecmp(as, "no", 2) != 0) ||
	    msg_mailbox(orig, &name, &addr) == -1 ||
	    strchr(addr, '@') == NULL ||
	    strcasecmp(addr, c->list) == 0 || (c->gateway_address != NULL &&
	    strcasecmp(addr, c->gateway_address) == 0)) {
		free(name);
		free(addr);
		msg_free(&orig);
		return NULL;
	}
	subject = msg_subject(orig);
	id = msg_get_unfolded(orig, "Message-ID");

	n = msg_new();
	v = xasprintf("\"Syncom gateway at %s\" <postmaster@%s>",
	    conf->hostname, conf->hostname);
	msg_add(n, "From", v);
	free(v);
	msg_add(n, "To", addr);
	v = xasprintf("Not delivered to %s: %s", c->list,
	    subject != NULL ? subject : "(no subject)");
	out = rfc2047_encode(v, "Subject");
	msg_add(n, "Subject", out);
	free(out);
	free(v);
	v = msg_date_string(time(NULL), 0);
	msg_add(n, "Date", v);
	free(v);
	v = msgid_generate(conf->hostname);
	msg_add(n, "Message-ID", v);
	free(v);
	if (id != NULL) {
		msg_add(n, "In-Reply-To", id);
		msg_add(n, "References", id);
	}
	msg_add(n, "Auto-Submitted", "auto-replied");
	msg_add(n, "MIME-Version", "1.0");
	msg_add(n, "Content-Type", "text/plain; charset=utf-8");
	msg_add(n, "Content-Transfer-Encoding", "8bit");
	msg_add(n, GATEWAY_HEADER, conf->path_identity);
	body = xasprintf("Your message %s\n"
	    "(\"%s\")\n"
	    "was gated to the channel %s, but the mailing list %s did not "
	    "take it.\n\n"
	    "The mail server said:\n\n    %s\n\n"
	    "The gateway keeps the message.  Its administrators see it with "
	    "\"syncctl dead\"\nand can send it again once the cause is "
	    "fixed.\n", id != NULL ? id : "without a Message-ID",
	    subject != NULL ? subject : "(no subject)", c->name, c->list, why);
	msg_set_body(n, body, strlen(body));
	out = msg_build(n, len_r);
	*rcpt_r = addr;
	free(body);
	free(id);
	free(subject);
	free(name);
	msg_free(&n);
	msg_free(&orig);
	return out;
}
