/*
 * describe.c: the channels' descriptions from Mailman 3's REST API, for
 * the job "descriptions" (SynCom's script that kept the forum's board
 * descriptions in step with the lists did this by hand).
 *
 * With mailman-rest set, each channel with a list asks Mailman for the
 * list (GET BASE/lists/LIST-ID, HTTP basic authentication from the URL)
 * and keeps its description in the store, where LIST NEWSGROUPS and the
 * forum's boards look first; a list without one, or one Mailman does not
 * have, leaves the channel's own description in force.  A list Mailman cannot be asked about keeps
 * what was fetched before.  The requests go out together on one
 * connection; the job hears the outcome when the last answer is in.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <openssl/evp.h>

#include "syncd.h"

/* Seconds for Mailman to answer. */
#define DESCRIBE_TIMEOUT	10
/* The longest answer we read. */
#define DESCRIBE_ANSWER_MAX	(256 * 1024)

struct describe_ask {
	struct describe	*run;
	char		*channel;
	char		*list_id;
};

struct describe {
	struct event_base *base;
	struct store	*store;
	struct evhttp_connection *conn;
	describe_done_fn done;
	void		*arg;
	size_t		 pending;
	int		 fetched, kept, failed;
	char		*first_error;
};

/* Append the code point cp to buf as UTF-8 (at most 4 octets). */
static size_t
describe_utf8(unsigned long cp, char *buf)
{
	if (cp < 0x80) {
		buf[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		buf[0] = (char)(0xc0 | (cp >> 6));
		buf[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		buf[0] = (char)(0xe0 | (cp >> 12));
		buf[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		buf[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	buf[0] = (char)(0xf0 | (cp >> 18));
	buf[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	buf[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	buf[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Four hex digits at s, or -1 (s may end sooner). */
static long
describe_hex4(const char *s)
{
	long v = 0;
	int i, d;

	for (i = 0; i < 4; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			d = s[i] - '0';
		else if (s[i] >= 'a' && s[i] <= 'f')
			d = s[i] - 'a' + 10;
		else if (s[i] >= 'A' && s[i] <= 'F')
			d = s[i] - 'A' + 10;
		else
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/*
 * The string value of the top-level member name of the JSON object in
 * json (RFC 8259), decoded, with control characters made spaces (a
 * description is one line); NULL when there is none.  Only as much JSON
 * as finding one member takes: the object's other members are skipped by
 * their strings and nesting.
 */
char *
describe_json_member(const char *json, const char *name)
{
	const char *p = json + strspn(json, " \t\r\n");
	size_t nlen = strlen(name), o;
	int depth = 0, is_key;
	char *out;
	long cp, lo;

	if (*p != '{')
		return NULL;
	for (; *p != '\0'; p++) {
		if (*p == '{' || *p == '[') {
			depth++;
			continue;
		}
		if (*p == '}' || *p == ']') {
			depth--;
			continue;
		}
		if (*p != '"')
			continue;
		/* A string: a key of ours when at depth 1 and ':' follows. */
		is_key = depth == 1 && strncmp(p + 1, name, nlen) == 0 &&
		    p[1 + nlen] == '"';
		for (p++; *p != '\0' && *p != '"'; p++)
			if (*p == '\\' && p[1] != '\0')
				p++;
		/* The loop's p++ must never step over the end. */
		if (*p == '\0')
			return NULL;
		if (!is_key)
			continue;
		p++;
		p += strspn(p, " \t\r\n");
		if (*p != ':') {
			p--;
			continue;
		}
		p++;
		p += strspn(p, " \t\r\n");
		if (*p != '"')
			return NULL;
		out = xmalloc(strlen(p) * 2 + 1);
		for (o = 0, p++; *p != '\0' && *p != '"'; p++) {
			if ((unsigned char)*p < 0x20) {
				out[o++] = ' ';
				continue;
			}
			if (*p != '\\') {
				out[o++] = *p;
				continue;
			}
			switch (*++p) {
			case 'u':
				if ((cp = describe_hex4(p + 1)) == -1)
					goto bad;
				p += 4;
				if (cp >= 0xd800 && cp <= 0xdbff &&
				    p[1] == '\\' && p[2] == 'u' &&
				    (lo = describe_hex4(p + 3)) >= 0xdc00 &&
				    lo <= 0xdfff) {
					cp = 0x10000 + ((cp - 0xd800) << 10) +
					    (lo - 0xdc00);
					p += 6;
				} else if (cp >= 0xd800 && cp <= 0xdfff)
					cp = 0xfffd;
				if (cp < 0x20)
					cp = ' ';
				o += describe_utf8((unsigned long)cp, out + o);
				break;
			case 'n': case 'r': case 't': case 'b': case 'f':
				out[o++] = ' ';
				break;
			case '"': case '\\': case '/':
				out[o++] = *p;
				break;
			default:
				goto bad;
			}
		}
		if (*p != '"')
			goto bad;
		out[o] = '\0';
		return out;
bad:
		free(out);
		return NULL;
	}
	return NULL;
}

static void
describe_free_conn(evutil_socket_t fd, short events, void *arg)
{
	struct evhttp_connection *conn = arg;

	(void)fd;
	(void)events;
	evhttp_connection_free(conn);
}

/* One answer less to wait for; after the last, tell the job. */
static void
describe_finish(struct describe *d)
{
	char *result;

	if (--d->pending > 0)
		return;
	result = xasprintf("%d descriptions from Mailman, %d from the"
	    " configuration%s%s", d->fetched, d->kept, d->failed > 0 ?
	    "; failed: " : "", d->failed > 0 ? d->first_error : "");
	/* Not from inside the connection's own callback. */
	if (d->conn != NULL)
		event_base_once(d->base, -1, EV_TIMEOUT, describe_free_conn,
		    d->conn, NULL);
	d->conn = NULL;
	d->done(d->arg, d->failed == 0, result);
	free(result);
	free(d->first_error);
	free(d);
}

static void
describe_fail(struct describe *d, const char *fmt, ...) PRINTFLIKE(2, 3);

static void
describe_fail(struct describe *d, const char *fmt, ...)
{
	va_list ap;
	char *why;

	va_start(ap, fmt);
	if (vasprintf(&why, fmt, ap) == -1)
		fatal("describe_fail");
	va_end(ap);
	log_warnx("event=describe error=%s", log_q(why));
	d->failed++;
	if (d->first_error == NULL)
		d->first_error = why;
	else
		free(why);
}

static void
describe_answer(struct evhttp_request *req, void *arg)
{
	struct describe_ask *ask = arg;
	struct describe *d = ask->run;
	struct evbuffer *in;
	char *json, *text;
	size_t len;
	int code = req != NULL ? evhttp_request_get_response_code(req) : 0;

	if (code == 404) {
		/* Not a Mailman list: the configuration's description. */
		log_info("event=describe list=%s result=not-in-mailman",
		    log_q(ask->list_id));
		if (store_description_set(d->store, ask->channel, NULL) == 0)
			d->kept++;
		goto out;
	}
	if (code != 200) {
		describe_fail(d, "list %s: %s", ask->list_id, code == 0 ?
		    "Mailman did not answer" : "Mailman answered an error");
		goto out;
	}
	in = evhttp_request_get_input_buffer(req);
	if ((len = evbuffer_get_length(in)) > DESCRIBE_ANSWER_MAX) {
		describe_fail(d, "list %s: answer too long", ask->list_id);
		goto out;
	}
	json = xmalloc(len + 1);
	evbuffer_copyout(in, json, len);
	json[len] = '\0';
	text = describe_json_member(json, "description");
	free(json);
	if (text != NULL && *text != '\0' && utf8_valid(text, strlen(text))) {
		if (store_description_set(d->store, ask->channel, text) == 0)
			d->fetched++;
		else
			describe_fail(d, "could not write the store");
	} else if (store_description_set(d->store, ask->channel, NULL) == 0)
		d->kept++;
	free(text);
out:
	free(ask->channel);
	free(ask->list_id);
	free(ask);
	describe_finish(d);
}

/* "user:password" of the URL as a Basic Authorization value, or NULL. */
static char *
describe_auth(const char *userinfo)
{
	unsigned char *b64;
	char *dec, *value;
	size_t len;

	if (userinfo == NULL)
		return NULL;
	dec = evhttp_uridecode(userinfo, 0, &len);
	b64 = xmalloc(4 * ((len + 2) / 3) + 1);
	EVP_EncodeBlock(b64, (const unsigned char *)dec, (int)len);
	value = xasprintf("Basic %s", b64);
	free(b64);
	free(dec);
	return value;
}

void
describe_run(struct event_base *base, struct store *store,
    const struct conf *conf, describe_done_fn done, void *arg)
{
	struct describe *d = xcalloc(1, sizeof(*d));
	struct describe_ask *ask;
	struct evhttp_uri *uri;
	struct evhttp_request *req;
	const struct conf_channel *c;
	const char *host, *path;
	char *auth, *target, *id, *at, *base_path;
	int port;

	d->base = base;
	d->store = store;
	d->done = done;
	d->arg = arg;
	d->pending = 1;		/* until every request is out */
	if ((uri = evhttp_uri_parse(conf->mailman_rest)) == NULL ||
	    (host = evhttp_uri_get_host(uri)) == NULL) {
		/* Not the value: it may hold the password. */
		describe_fail(d, "mailman-rest is not a URL with a host");
		if (uri != NULL)
			evhttp_uri_free(uri);
		describe_finish(d);
		return;
	}
	if ((port = evhttp_uri_get_port(uri)) == -1)
		port = 80;
	if ((path = evhttp_uri_get_path(uri)) == NULL)
		path = "";
	base_path = xstrdup(path);
	if (*base_path != '\0' && base_path[strlen(base_path) - 1] == '/')
		base_path[strlen(base_path) - 1] = '\0';
	auth = describe_auth(evhttp_uri_get_userinfo(uri));
	d->conn = evhttp_connection_base_new(base, NULL, host,
	    (unsigned short)port);
	evhttp_connection_set_timeout(d->conn, DESCRIBE_TIMEOUT);
	TAILQ_FOREACH(c, &conf->channels, entry) {
		if (c->list == NULL)
			continue;
		/* Mailman 3 names a list by its List-Id. */
		if (c->list_id != NULL)
			id = xstrdup(c->list_id);
		else {
			id = xstrdup(c->list);
			if ((at = strchr(id, '@')) != NULL)
				*at = '.';
		}
		ask = xcalloc(1, sizeof(*ask));
		ask->run = d;
		ask->channel = xstrdup(c->name);
		ask->list_id = id;
		req = evhttp_request_new(describe_answer, ask);
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Host", host);
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Accept", "application/json");
		if (auth != NULL)
			evhttp_add_header(evhttp_request_get_output_headers(req),
			    "Authorization", auth);
		target = xasprintf("%s/lists/%s", base_path, id);
		d->pending++;
		if (evhttp_make_request(d->conn, req, EVHTTP_REQ_GET,
		    target) == -1) {
			/* libevent freed req: answer for it. */
			describe_fail(d, "list %s: no request", id);
			free(ask->channel);
			free(ask->list_id);
			free(ask);
			d->pending--;
		}
		free(target);
	}
	free(auth);
	free(base_path);
	evhttp_uri_free(uri);
	describe_finish(d);
}
