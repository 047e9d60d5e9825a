/*
 * common.c — what every subcommand shares: reporting errors, reading the
 * passphrase, opening the vault, writing JSON. The passphrase lives only in
 * sodium_malloc'd memory and is wiped as soon as the vault is unlocked.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "client/messenger.h"
#include "client/relay_client.h"
#include "util/text.h"
#include "util/codec.h"

#define PASS_MAX 1024

/* What --json needs to report a failure on stdout (pl_cli_finish): the
 * run's last error line, and whether stdout already holds the run's one
 * JSON document. Process-wide because a run is one process. */
static struct {
	int json;
	int json_done;
	char last[PL_ERR_MSG_MAX + 64];
} out_state;

void pl_cli_set_json(int on)
{
	out_state.json = on;
}

void pl_cli_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out_state.last, sizeof out_state.last, fmt, ap);
	va_end(ap);
	fprintf(stderr, "parley: %s\n", out_state.last);
}

int pl_cli_finish(int rc)
{
	if (rc == PL_EXIT_OK || !out_state.json || out_state.json_done)
		return rc;
	json_t *j = json_pack("{s:s, s:i}", "error",
			      out_state.last[0] ? out_state.last
						: "the command failed; see the message on stderr",
			      "exit", rc);
	pl_cli_json_out(j);
	return rc;
}

int pl_cli_fail(const pl_err *e)
{
	const char *msg = (e && e->msg[0]) ? e->msg : "unexpected internal error";
	pl_cli_error("%s", msg);
	return (e && e->code) ? e->code : PL_EXIT_ERROR;
}

int pl_cli_usage(const char *cmd, const char *fmt, ...)
{
	char msg[PL_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	pl_cli_error("%s; see parley %s --help", msg, cmd);
	return PL_EXIT_USAGE;
}

int pl_cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return 0;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	}
	return 0;
}

void pl_cli_passphrase_free(char *pass, size_t len)
{
	(void)len;
	if (pass)
		sodium_free(pass); /* sodium_free wipes */
}

static int read_tty_line(int fd, const char *prompt, char *buf, size_t cap, size_t *len)
{
	struct termios old, quiet;
	int restore = 0;
	if (write(fd, prompt, strlen(prompt)) < 0)
		return -1;
	if (tcgetattr(fd, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ECHONL;
		restore = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
	}
	size_t n = 0;
	int rc = -1;
	for (;;) {
		char ch;
		ssize_t r = read(fd, &ch, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (ch == '\n' || ch == '\r') {
			rc = 0;
			break;
		}
		if (n + 1 >= cap)
			break;
		buf[n++] = ch;
	}
	if (restore)
		tcsetattr(fd, TCSAFLUSH, &old);
	buf[n] = '\0';
	*len = n;
	return rc;
}

/* One line of the file at path (the first newline ends it: editors add
 * one) into buf of PASS_MAX bytes. */
static int read_pass_file(const char *path, char *buf, size_t *len, pl_err *e)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return pl_err_set(e, PL_EXIT_USAGE, "cannot read passphrase file %s: %s", path,
				  strerror(errno));
	size_t n = fread(buf, 1, PASS_MAX, f);
	fclose(f);
	if (n >= PASS_MAX)
		return pl_err_set(e, PL_EXIT_USAGE, "the passphrase is longer than %d bytes",
				  PASS_MAX - 1);
	buf[n] = '\0';
	char *nl = memchr(buf, '\n', n);
	if (nl) {
		n = (size_t)(nl - buf);
		if (n > 0 && buf[n - 1] == '\r')
			n--;
		buf[n] = '\0';
	}
	*len = n;
	return 0;
}

/* Asks the terminal for a passphrase under prompt, twice when confirm. */
static int read_pass_tty(const char *prompt, const char *again_prompt, int confirm, char *buf,
			 size_t *len, pl_err *e)
{
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return pl_err_set(e, PL_EXIT_USAGE,
				  "no passphrase: set PARLEY_PASSPHRASE, pass "
				  "--passphrase-file FILE, or run parley on a terminal");
	size_t n = 0;
	int bad = read_tty_line(fd, prompt, buf, PASS_MAX, &n) != 0;
	if (!bad && confirm) {
		char *again = sodium_malloc(PASS_MAX);
		size_t n2 = 0;
		bad = again == NULL || read_tty_line(fd, again_prompt, again, PASS_MAX, &n2) != 0 ||
		      n2 != n || sodium_memcmp(again, buf, n) != 0;
		if (again)
			sodium_free(again);
		if (bad) {
			close(fd);
			return pl_err_set(e, PL_EXIT_USAGE,
					  "the two passphrases differ; nothing was changed, "
					  "run the command again");
		}
	}
	close(fd);
	if (bad)
		return pl_err_set(e, PL_EXIT_USAGE,
				  "could not read a passphrase from the terminal");
	*len = n;
	return 0;
}

int pl_cli_passphrase(pl_cli *cli, int confirm, char **pass, size_t *len, pl_err *e)
{
	char *buf = sodium_malloc(PASS_MAX);
	*pass = NULL;
	*len = 0;
	if (buf == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory for the passphrase");
	size_t n = 0;
	int r;
	const char *env = getenv("PARLEY_PASSPHRASE");
	if (env != NULL && *env == '\0') {
		r = pl_err_set(e, PL_EXIT_USAGE,
			       "PARLEY_PASSPHRASE is set but empty; put the passphrase in it, or "
			       "unset it to be asked");
	} else if (env != NULL) {
		n = strlen(env);
		r = n >= PASS_MAX
			? pl_err_set(e, PL_EXIT_USAGE, "the passphrase is longer than %d bytes",
				     PASS_MAX - 1)
			: 0;
		if (r == 0)
			memcpy(buf, env, n + 1);
	} else if (cli->passfile != NULL) {
		r = read_pass_file(cli->passfile, buf, &n, e);
	} else {
		r = read_pass_tty("passphrase: ", "passphrase again: ", confirm, buf, &n, e);
	}
	if (r == 0 && n == 0)
		r = pl_err_set(e, PL_EXIT_USAGE, "the passphrase is empty; choose one");
	if (r != 0) {
		sodium_free(buf);
		return -1;
	}
	*pass = buf;
	*len = n;
	return 0;
}

int pl_cli_new_passphrase(const char *file, char **pass, size_t *len, pl_err *e)
{
	char *buf = sodium_malloc(PASS_MAX);
	*pass = NULL;
	*len = 0;
	if (buf == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory for the passphrase");
	size_t n = 0;
	int r = file ? read_pass_file(file, buf, &n, e)
		     : read_pass_tty("new passphrase: ", "new passphrase again: ", 1, buf, &n, e);
	if (r == 0 && n == 0)
		r = pl_err_set(e, PL_EXIT_USAGE, "the new passphrase is empty; choose one");
	if (r != 0) {
		sodium_free(buf);
		return -1;
	}
	*pass = buf;
	*len = n;
	return 0;
}

int pl_cli_passphrase_strong(const char *cmd, const char *pass, size_t len, pl_err *e)
{
	if (pl_passphrase_check(pass, len, e) == 0)
		return 0;
	char msg[sizeof e->msg];
	snprintf(msg, sizeof msg, "%s", e->msg);
	return pl_err_set(e, PL_EXIT_USAGE,
			  "%s; or let parley make one: parley %s "
			  "--generate-passphrase",
			  msg, cmd);
}

int pl_cli_kdf_cost(pl_vault_kdf_cost *cost, pl_err *e)
{
	const char *t = getenv("PARLEY_TEST_KDF");
	*cost = PL_VAULT_KDF_STRONG;
	if (t == NULL)
		return 0;
	if (strcmp(t, "interactive") == 0)
		*cost = PL_VAULT_KDF_TEST_ONLY;
	else if (strcmp(t, "minimal") == 0)
		*cost = PL_VAULT_KDF_TEST_MINIMAL;
	else
		return pl_err_set(e, PL_EXIT_USAGE,
				  "PARLEY_TEST_KDF may only be \"interactive\" or \"minimal\" "
				  "(for test suites); unset it for a real vault");
	return 0;
}

void pl_cli_kdf_warn(pl_vault_kdf_cost cost)
{
	if (cost == PL_VAULT_KDF_TEST_ONLY)
		fprintf(stderr,
			"parley: warning: PARLEY_TEST_KDF=interactive: this passphrase got the "
			"cheap test-only cost (64 MiB, 2 passes), far easier to guess than "
			"the normal one; never use it for a real vault\n");
	else if (cost == PL_VAULT_KDF_TEST_MINIMAL)
		fprintf(stderr,
			"parley: warning: PARLEY_TEST_KDF=minimal: this passphrase got "
			"Argon2id's minimum cost (8 KiB, 1 pass), trivial to guess; only for "
			"test suites, never use it for a real vault\n");
}

int pl_cli_generate_passphrase(char **pass, size_t *len, unsigned *words, unsigned *bits, pl_err *e)
{
	unsigned listlen;
	char *buf = sodium_malloc(PASS_MAX);
	*pass = NULL;
	*len = 0;
	if (buf == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory for the passphrase");
	if (pl_passphrase_generate(buf, PASS_MAX, PL_WORDS_PATH, words, &listlen, bits, e) != 0) {
		sodium_free(buf);
		return -1;
	}
	*pass = buf;
	*len = strlen(buf);
	return 0;
}

void pl_cli_show_passphrase(const char *pass, unsigned words, unsigned bits)
{
	printf("passphrase:  %s\n"
	       "Write this passphrase down now and keep it apart from this computer: it is "
	       "shown only this once (%u words, about %u bits), and without it the vault "
	       "cannot be opened.\n",
	       pass, words, bits);
}

int pl_cli_open_vault(pl_cli *cli, pl_vault **v, pl_err *e)
{
	char *pass;
	size_t len;
	if (!pl_vault_exists(cli->vault_dir))
		return pl_err_set(e, PL_EXIT_VAULT,
				  "no vault at %s; create one with parley init --name NAME --relay "
				  "URL",
				  cli->vault_dir);
	if (pl_cli_passphrase(cli, 0, &pass, &len, e) != 0)
		return -1;
	pl_vault_open_opts o = {.cmd = cli->cmd, .wait_ms = 0};
	int rc = pl_vault_open_ex(v, cli->vault_dir, pass, len, &o, e);
	pl_cli_passphrase_free(pass, len);
	if (rc == 0 && cli->proxy && pl_vault_use_proxy(*v, cli->proxy, e) != 0) {
		pl_vault_close(*v);
		*v = NULL;
		return -1;
	}
	if (rc == 0 && pl_vault_converted(*v))
		fprintf(stderr,
			"parley: note: the vault at %s was converted to the sealed format "
			"(vault.pv) and its unsealed vault.db was wiped; if this vault had been "
			"converted before, an old copy was put back: run parley sync before "
			"sending anything\n",
			cli->vault_dir);
	if (rc == 0)
		pl_cli_proxy_warn(*v);
	return rc;
}

void pl_cli_proxy_warn(pl_vault *v)
{
	const char *p = pl_vault_relay_proxy(v);
	if (p && pl_rc_proxy_check(p, NULL) == 1)
		fprintf(stderr,
			"parley: warning: with %s this computer looks up the relay's name itself, "
			"so its DNS queries show which relay it uses; use socks5h:// to let the "
			"proxy do it\n",
			p);
}

void pl_cli_json_out(json_t *j)
{
	out_state.json_done = 1;
	if (j == NULL) {
		fputs("null\n", stdout);
		return;
	}
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (s) {
		puts(s);
		free(s);
	}
}

int pl_cli_id_arg(const char *cmd, const char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return pl_cli_usage(cmd, "ID holds a control character; give the item's "
						 "id, or its first 4 or more hex digits");
	if (n > 2 * PL_OBJ_ID_LEN || strspn(s, "0123456789abcdefABCDEF") != n)
		return pl_cli_usage(cmd,
				    "ID \"%s\" is not an id: give its 16 hex digits, or the "
				    "first 4 or more of them, as shown by parley inbox or "
				    "parley thread",
				    s);
	if (n < PL_CLI_ID_PREFIX_MIN)
		return pl_cli_usage(cmd,
				    "ID \"%s\" is too short: give at least %d of its hex "
				    "digits (as shown by parley inbox or parley thread)",
				    s, PL_CLI_ID_PREFIX_MIN);
	return 0;
}

static int nibble(char c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

int pl_cli_id_prefix_matches(const char *s, const uint8_t (*ids)[8], size_t n, size_t *idx,
			     size_t cap)
{
	size_t len = strlen(s);
	if (len < PL_CLI_ID_PREFIX_MIN || len > 16 || strspn(s, "0123456789abcdefABCDEF") != len)
		return -1;
	int count = 0;
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;
		while (k < len && nibble(s[k]) == ((ids[i][k / 2] >> (k % 2 ? 0 : 4)) & 0xf))
			k++;
		if (k < len)
			continue;
		int seen = 0; /* the same id twice (e.g. both directions) is one id */
		for (size_t j = 0; j < i && !seen; j++)
			seen = memcmp(ids[j], ids[i], 8) == 0;
		if (seen)
			continue;
		if (idx && (size_t)count < cap)
			idx[count] = i;
		count++;
	}
	return count;
}

int pl_cli_resolve_id(pl_vault *v, const char *s, uint8_t id[static 8], pl_err *e)
{
	pl_item *items;
	size_t n;
	if (pl_vault_item_list(v, NULL, &items, &n, e) != 0)
		return -1;
	uint8_t(*ids)[8] = calloc(n ? n : 1, sizeof *ids);
	size_t m = 0;
	if (ids == NULL) {
		pl_vault_items_free(items, n);
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		if (items[i].kind != PL_KIND_ACK && items[i].kind != PL_KIND_RELAY)
			memcpy(ids[m++], items[i].id, 8);
	pl_vault_items_free(items, n);
	size_t idx[6];
	int hits = pl_cli_id_prefix_matches(s, (const uint8_t(*)[8])ids, m, idx, 6);
	int rc = 0;
	if (hits == 1) {
		memcpy(id, ids[idx[0]], 8);
	} else if (hits == 0) {
		rc = pl_err_set(e, PL_EXIT_NOTFOUND,
				"no item %s in this vault; see parley inbox or parley thread NAME",
				s);
	} else if (hits > 1) {
		char list[6 * 18 + 8] = "";
		for (int i = 0; i < hits && i < 6; i++) {
			char hex[17];
			pl_hex_encode(hex, ids[idx[i]], 8);
			strcat(list, i ? ", " : "");
			strcat(list, hex);
		}
		if (hits > 6)
			strcat(list, ", ...");
		rc = pl_err_set(e, PL_EXIT_USAGE,
				"ID %s is ambiguous: %d items begin with it (%s); give more digits",
				s, hits, list);
	} else {
		rc = pl_err_set(e, PL_EXIT_USAGE, "ID \"%s\" is not 4 to 16 hex digits", s);
	}
	free(ids);
	return rc;
}

int pl_cli_resent(pl_cli *cli, pl_vault *v, unsigned n, const char *what)
{
	pl_sync_report r;
	pl_err de;
	memset(&r, 0, sizeof r);
	pl_err_clear(&de);
	int ok = pl_msgr_deliver(v, &r, &de) == 0;
	if (cli->json)
		pl_cli_json_out(json_pack("{s:i, s:b}", "queued", n, "delivered", ok));
	else
		printf("%u %s sent again%s\n", n, what,
		       ok ? "" : " (queued: run parley sync to deliver them)");
	return PL_EXIT_OK;
}

int pl_cli_move_done(pl_cli *cli, pl_vault *v, const char *what, const uint8_t id[static 8],
		     int64_t seq)
{
	char hex[17];
	pl_hex_encode(hex, id, 8);
	pl_sync_report r;
	memset(&r, 0, sizeof r);
	pl_err de;
	pl_err_clear(&de);
	const char *state = "queued";
	pl_item it;
	if (pl_msgr_deliver(v, &r, &de) == 0 && pl_vault_item_get(v, seq, &it, NULL) == 0) {
		if (strcmp(it.state, "queued") != 0)
			state = "delivered";
		pl_vault_item_free(&it);
	}
	pl_cli_copy_warn(&r);
	if (cli->json) {
		json_t *j = json_pack("{s:s, s:s, s:s}", "id", hex, "kind", what, "state", state);
		if (strcmp(state, "queued") == 0 && de.msg[0])
			json_object_set_new(j, "reason", json_string(de.msg));
		pl_cli_json_out(j);
	} else {
		printf("%s\n", hex);
	}
	if (strcmp(state, "queued") == 0 && de.code == PL_EXIT_SECURITY) {
		/* the relay was refused: sync would be too */
		fprintf(stderr, "parley: %s %s queued, not delivered: %s\n", what, hex, de.msg);
		return PL_EXIT_SECURITY;
	}
	if (strcmp(state, "queued") == 0)
		fprintf(stderr,
			"parley: %s %s queued, not delivered: %s; run parley sync to deliver it\n",
			what, hex,
			de.msg[0] ? de.msg : "an earlier item to this contact is blocked");
	return PL_EXIT_OK;
}

void pl_cli_copy_warn(const pl_sync_report *r)
{
	if (r == NULL || !r->copy_reacted)
		return;
	char when[PL_RFC3339_LEN];
	pl_time_rfc3339(when, r->copy_date);
	fprintf(stderr,
		"parley: warning: this vault is an older copy of itself (a folder put back, or "
		"another copy still in use): the relay's log shows this vault's own key "
		"fetching envelopes this copy never received. Before encrypting anything it "
		"dropped its %u session(s), made new prekeys and told %u contact(s) that "
		"messages after %s may be missing; use one copy of a vault only\n",
		r->copy_sessions, r->copy_notified, r->copy_date ? when : "an unknown date");
}

void pl_cli_pad(const char *s, size_t width)
{
	size_t w = pl_text_width(s);
	fputs(s, stdout);
	for (; w < width; w++)
		putchar(' ');
}

int pl_cli_take_via(const char *cmd, int *argc, char **argv, const char **via)
{
	*via = NULL;
	int out = 1;
	int n = *argc;
	for (int i = 1; i < n; i++) {
		const char *a = argv[i];
		const char *val = NULL;
		if (strcmp(a, "--") == 0) {
			for (; i < n; i++)
				argv[out++] = argv[i];
			break;
		}
		if (strcmp(a, "--via") == 0) {
			if (i + 1 >= n)
				return pl_cli_usage(cmd, "--via needs the name of the mediator");
			val = argv[++i];
		} else if (strncmp(a, "--via=", 6) == 0) {
			val = a + 6;
		} else {
			argv[out++] = argv[i];
			continue;
		}
		if (*via != NULL)
			return pl_cli_usage(cmd,
					    "give --via once: a move goes through one mediator");
		if (*val == '\0')
			return pl_cli_usage(cmd, "--via needs the name of the mediator");
		*via = val;
	}
	argv[out] = NULL;
	*argc = out;
	return 0;
}
