/*
 * cli.h — the `parley` command line: global options, the dispatch table and
 * the helpers every subcommand shares (passphrase, vault, output, errors).
 *
 * Output contract: results on stdout (one JSON document with --json);
 * errors are one line on stderr beginning "parley: ", with an exit code from
 * src/util/err.h. A subcommand never prints a secret.
 */
#ifndef PARLEY_CLI_CLI_H
#define PARLEY_CLI_CLI_H

#include <jansson.h>
#include <stddef.h>

#include "client/messenger.h"
#include "client/nego.h"
#include "util/err.h"
#include "vault/vault.h"

typedef struct {
	const char *vault_dir;
	const char *passfile;
	const char *proxy; /* --proxy URL|none for this run, NULL if not given */
	int json;
	int yes;	 /* --yes: sign binding moves without asking */
	const char *cmd; /* the subcommand's name, recorded in the vault lock */
	char vault_buf[4096];
} pl_cli;

typedef struct {
	const char *name;
	int (*run)(pl_cli *cli, int argc, char **argv);
	const char *usage;   /* one line after "parley " */
	const char *summary; /* one line */
} pl_cli_cmd;

int pl_cli_main(int argc, char **argv);

/* Prints "parley: <msg>" and returns e->code (PL_EXIT_ERROR if unset). */
int pl_cli_fail(const pl_err *e);
/* Prints "parley: <msg>; see parley <cmd> --help" and returns PL_EXIT_USAGE. */
int pl_cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the usage block of a command to stdout. */
void pl_cli_help(const char *cmd);
/* True if argv holds -h/--help before any "--". */
int pl_cli_wants_help(int argc, char **argv);

/* Passphrase from $PARLEY_PASSPHRASE, --passphrase-file, or the terminal
 * (asked twice when confirm). *pass is sodium_malloc'd: free with
 * pl_cli_passphrase_free. */
int pl_cli_passphrase(pl_cli *cli, int confirm, char **pass, size_t *len, pl_err *e);
void pl_cli_passphrase_free(char *pass, size_t len);
/* A new passphrase: the first line of file, or asked twice on the terminal
 * (never from PARLEY_PASSPHRASE, which holds the current one). */
int pl_cli_new_passphrase(const char *file, char **pass, size_t *len, pl_err *e);
/* pl_passphrase_check with the hint "parley CMD --generate-passphrase". */
int pl_cli_passphrase_strong(const char *cmd, const char *pass, size_t len, pl_err *e);
/* The Argon2id cost of a new passphrase: always the strong one, unless the
 * test-only PARLEY_TEST_KDF=interactive is set; pl_cli_kdf_warn says so on
 * stderr once a passphrase was put under the cheap cost. */
int pl_cli_kdf_cost(pl_vault_kdf_cost *cost, pl_err *e);
void pl_cli_kdf_warn(pl_vault_kdf_cost cost);
/* A generated word passphrase (free with pl_cli_passphrase_free), and the
 * one-time display of it with the advice to write it down. */
int pl_cli_generate_passphrase(char **pass, size_t *len, unsigned *words, unsigned *bits,
			       pl_err *e);
void pl_cli_show_passphrase(const char *pass, unsigned words, unsigned bits);
/* Opens the vault and applies this run's --proxy (warning on stderr if the
 * proxy in use is socks5://, whose name lookups leak). */
int pl_cli_open_vault(pl_cli *cli, pl_vault **v, pl_err *e);
/* The warning above, for a vault opened otherwise (init). */
void pl_cli_proxy_warn(pl_vault *v);

/* Says on stderr, when a delivery or sync found this vault to be an older
 * copy of itself (client/copies.h), what it did about it. */
void pl_cli_copy_warn(const pl_sync_report *r);
/* Writes j (stolen) to stdout as one JSON document and a newline. */
void pl_cli_json_out(json_t *j);
/* Prints s on stdout followed by spaces up to width terminal columns
 * (display width, not bytes: Persian and CJK names keep columns straight). */
void pl_cli_pad(const char *s, size_t width);
/* in in Unicode NFC (nfc.c): 1 and *out a malloc'd copy when that differs
 * from in, else 0 and *out NULL (ASCII, not UTF-8, already NFC). */
int pl_cli_nfc(const char *in, char **out);
/* Every argument that is non-ASCII UTF-8 and not a path found on disk is
 * replaced by its NFC form (nfc.c), before any command reads it. */
void pl_cli_nfc_args(int argc, char **argv);

/* --json's failure report: main turns it on; pl_cli_error prints
 * "parley: MSG" on stderr and remembers it; pl_cli_finish(rc) prints
 * {"error": MSG, "exit": rc} on stdout when a run with --json fails before
 * it wrote its JSON document. */
void pl_cli_set_json(int on);
void pl_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int pl_cli_finish(int rc);

/* Ids of items may be shortened, as git's are, to a unique prefix. */
#define PL_CLI_ID_PREFIX_MIN 4
/* 0 if s can be an id or a prefix of one (4 to 16 hex digits, either case);
 * else a usage error that says why (returns PL_EXIT_USAGE). */
int pl_cli_id_arg(const char *cmd, const char *s);
/* How many distinct ids of the n given begin with the hex prefix s; the
 * indexes of the first cap of them in idx. -1 if s is not 4 to 16 hex
 * digits. */
int pl_cli_id_prefix_matches(const char *s, const uint8_t (*ids)[8], size_t n, size_t *idx,
			     size_t cap);
/* The id of the one item of the vault whose id begins with s; NOTFOUND if
 * none, USAGE listing them if several. */
int pl_cli_resolve_id(pl_vault *v, const char *s, uint8_t id[static 8], pl_err *e);

/* The confirmation a command that signs a binding move needs (confirm.c):
 * with --yes none (cf->fn NULL); on a terminal, cf shows the complete terms
 * and asks; else it says why it refuses and returns PL_EXIT_USAGE. */
int pl_cli_signing(pl_cli *cli, const char *cmd, pl_nego_confirm *cf);
/* Proximity talks: takes `--via MEDIATOR` (or --via=MEDIATOR) out of argv
 * (before the command's own options are parsed, up to a "--"); *via NULL
 * if absent. 0, or PL_EXIT_USAGE (printed) if given twice or empty. */
int pl_cli_take_via(const char *cmd, int *argc, char **argv, const char **via);
/* Asks before a change that is hard to undo (not a signature): prints
 * question and "what?" on a terminal and needs y/yes; with --yes goes on;
 * without a terminal refuses. 0 to go on, else the exit code (error
 * printed). */
int pl_cli_confirm(pl_cli *cli, const char *cmd, const char *what, const char *question);

/* An absolute time for an option (when.c): RFC 3339 with Z or an offset,
 * or "YYYY-MM-DD HH:MM[:SS] ZONE" (Z, UTC, +HH:MM, an IANA name); later
 * than now. -1 with a sentence in why otherwise. */
int pl_cli_parse_when(const char *s, uint64_t now, uint64_t *out, char *why, size_t cap);
/* t as RFC 3339 UTC followed by the reader's local time (TZ) in
 * parentheses, unless the local zone is UTC. */
void pl_cli_time_text(char *out, size_t cap, uint64_t t);
/* After a negotiation move is queued: delivers, prints its id (JSON: id,
 * kind, state) and says so on stderr if it stays queued. */
/* After a resend queued n items (what: "plan object(s)", ...): delivers
 * them and says how many went, or that they wait for a sync. */
int pl_cli_resent(pl_cli *cli, pl_vault *v, unsigned n, const char *what);
int pl_cli_move_done(pl_cli *cli, pl_vault *v, const char *what, const uint8_t id[static 8],
		     int64_t seq);
/* Options shared by propose and counter, parsed from argv[first..]. */
int pl_cli_parse_terms(const char *cmd, int argc, char **argv, pl_nego_terms *t,
		       const char **positional);

/* Parses "90s", "45m", "48h", "7d", "2w" (or a bare number of seconds):
 * 0 and *seconds, or -1 for anything else, zero, or more than ten years
 * (duration.c). */
int pl_cli_parse_duration(const char *s, uint64_t *seconds);

/* accept, reject and withdraw (respond_common.c). */
int pl_cli_response(pl_cli *cli, const char *cmd, int kind, int argc, char **argv);

/* JSON of a case record (cmd_case.c), shared by the commands that show one. */
json_t *pl_cli_case_json(const pl_case *c);

/* Subcommands, one file each (src/cli/cmd_*.c). */
int pl_cmd_init(pl_cli *cli, int argc, char **argv);
int pl_cmd_id(pl_cli *cli, int argc, char **argv);
int pl_cmd_passphrase(pl_cli *cli, int argc, char **argv);
int pl_cmd_id_revoke(pl_cli *cli, int argc, char **argv);
int pl_cmd_id_revocation(pl_cli *cli, int argc, char **argv);
int pl_cmd_id_rotate(pl_cli *cli, int argc, char **argv);
int pl_cmd_contact(pl_cli *cli, int argc, char **argv);
int pl_cmd_case(pl_cli *cli, int argc, char **argv);
int pl_cmd_send(pl_cli *cli, int argc, char **argv);
int pl_cmd_introduce(pl_cli *cli, int argc, char **argv);
int pl_cmd_people(pl_cli *cli, int argc, char **argv);
int pl_cmd_forward(pl_cli *cli, int argc, char **argv);
int pl_cmd_hold(pl_cli *cli, int argc, char **argv);
int pl_cmd_outreach(pl_cli *cli, int argc, char **argv);
int pl_cmd_propose(pl_cli *cli, int argc, char **argv);
int pl_cmd_counter(pl_cli *cli, int argc, char **argv);
int pl_cmd_accept(pl_cli *cli, int argc, char **argv);
int pl_cmd_guarantee(pl_cli *cli, int argc, char **argv);
int pl_cmd_reject(pl_cli *cli, int argc, char **argv);
int pl_cmd_withdraw(pl_cli *cli, int argc, char **argv);
int pl_cmd_request(pl_cli *cli, int argc, char **argv);
int pl_cmd_respond(pl_cli *cli, int argc, char **argv);
int pl_cmd_inbox(pl_cli *cli, int argc, char **argv);
int pl_cmd_export(pl_cli *cli, int argc, char **argv);
int pl_cmd_verify(pl_cli *cli, int argc, char **argv);
int pl_cmd_sync(pl_cli *cli, int argc, char **argv);
int pl_cmd_thread(pl_cli *cli, int argc, char **argv);
int pl_cmd_purge(pl_cli *cli, int argc, char **argv);
int pl_cmd_relay(pl_cli *cli, int argc, char **argv);
int pl_cmd_relay_move(pl_cli *cli, int argc, char **argv);     /* argv[0] = "move" */
int pl_cmd_relay_evidence(pl_cli *cli, int argc, char **argv); /* relay evidence */
/* `parley relay proxy URL|none` (cmd_relay_proxy.c). */
int pl_cli_relay_proxy(pl_cli *cli, const char *url);
int pl_cmd_pending(pl_cli *cli, int argc, char **argv);
int pl_cmd_prove(pl_cli *cli, int argc, char **argv);
int pl_cmd_demo(pl_cli *cli, int argc, char **argv);
int pl_cmd_backup(pl_cli *cli, int argc, char **argv);
int pl_cmd_restore(pl_cli *cli, int argc, char **argv);
int pl_cmd_plan(pl_cli *cli, int argc, char **argv);  /* plan, plan accept/show/abort */
int pl_cmd_match(pl_cli *cli, int argc, char **argv); /* match intent/packages/count/show */
/* 1 if it is a part of a blind match's list or answer (shown by parley
 * match show, not item by item); commitments show as items. */
int pl_cli_match_part(const pl_item *it);
/* match propose ID N [options of propose] (cmd_match_propose.c) */
int pl_cli_match_propose(pl_cli *cli, int argc, char **argv);
int pl_cmd_step(pl_cli *cli, int argc, char **argv); /* step done/confirm */
/* After a plan move is queued: delivers, prints its id (JSON: id, kind,
 * state), says on stderr if it stays queued (cmd_plan.c). */
int pl_cli_plan_done(pl_cli *cli, pl_vault *v, const char *what, const uint8_t id[static 8]);

#endif
