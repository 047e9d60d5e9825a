/*
 * main.c — `parley`'s dispatch: global options, then one subcommand from the
 * table below. Owns nothing else; every subcommand lives in its own file.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "client/relay_client.h"

static const pl_cli_cmd commands[] = {
    {"init", pl_cmd_init,
     "init --name NAME --relay URL [--relay-cert FILE] [--insecure-http] [--proxy URL]\n"
     "     [--generate-passphrase]\n"
     "  --relay-cert FILE  trust only this CA certificate for the https:// relay\n"
     "  --proxy URL        reach the relay through this SOCKS proxy from now on\n"
     "                     (socks5h://HOST:PORT, e.g. socks5h://127.0.0.1:9050 for Tor)\n"
     "  --insecure-http    allow plain http:// to a relay on another computer (the\n"
     "                     access token then crosses the network readable); http://\n"
     "                     to this computer (localhost, 127.x, ::1) needs no flag\n"
     "  --generate-passphrase  make the passphrase (6 or more random words), use it\n"
     "                     for the vault and print it once; a passphrase you choose\n"
     "                     needs 12 or more characters and about 50 bits by parley's\n"
     "                     estimate",
     "create a vault with a new identity"},
    {"id", pl_cmd_id,
     "id | id revocation --out FILE | id revoke [--from FILE] | id rotate\n"
     "  revocation  write a signed revocation of this vault's key, to keep apart;\n"
     "              whoever holds the file can revoke the key\n"
     "  revoke      revoke this vault's key for good and tell every verified\n"
     "              contact; afterwards this vault sends nothing\n"
     "  rotate      move to a new identity key (a lost key, a staff change) and tell\n"
     "              every verified contact with a change signed by the old and the new\n"
     "              key; for a seized key use revoke, not rotate",
     "print this party's name, public key and fingerprint; rotate or revoke its key"},
    {"passphrase", pl_cmd_passphrase,
     "passphrase change [--new-passphrase-file FILE | --generate-passphrase]\n"
     "  asks the current passphrase as every command does, then the new one twice\n"
     "  --new-passphrase-file FILE  read the new passphrase from FILE (scripts)\n"
     "  --generate-passphrase       make a word passphrase and print it once",
     "put the vault under a new passphrase"},
    {"contact", pl_cmd_contact,
     "contact add NAME KEY | show NAME | verify NAME SAFETY_NUMBER | list |\n"
     "        rename NAME NEW_NAME | remove NAME [--forget-transcript] |\n"
     "        revoke NAME --statement FILE | trust-rotation NAME\n"
     "  rename  change the local name of a contact; the transcript and case links\n"
     "          follow it (nothing is sent: names are this vault's own)\n"
     "  remove  forget a contact and replace this vault's access token, so the\n"
     "          removed contact can no longer deposit; a contact with items (the\n"
     "          record of your talks) is kept unless --forget-transcript is given,\n"
     "          and then asks first (--yes: without asking)\n"
     "  revoke  apply a revocation NAME signed with their key that they gave you\n"
     "  trust-rotation  accept NAME's new key on the signature of the key you\n"
     "          verified (enough for a lost key, not for a seized one)",
     "manage and verify contacts"},
    {"case", pl_cmd_case,
     "case add --name NAME --held-by PARTY [--nationality A,B] [--born DATE]\n"
     "         [--shared-summary TEXT] [--since DATE] [--charges TEXT] [--sentence TEXT]\n"
     "         [--humanitarian TEXT] [--priority 0-100] [--note TEXT]\n"
     "         [--person-id ISS:DOC]\n"
     "       | case list | case show ID | case edit ID [options of add]\n"
     "       | case link THEIR_REF ID [--yes] | case remove ID [--yes]\n"
     "  ID is the record's number from case list (not an item id).\n"
     "  Shared with the other side: when a proposal or request names a record, only\n"
     "  name, held by, nationality, born and --shared-summary are copied into the\n"
     "  signed move (and so into the other side's vault and any exported agreement).\n"
     "  Kept in this vault, never sent: --priority, --note, --since, --charges,\n"
     "  --sentence and --humanitarian (internal wording). case show says which is which.\n"
     "  link THEIR_REF ID  the other side's reference for a person (the ref in\n"
     "                     parley --json inbox) is our record ID; moving a link, or\n"
     "                     a second reference of one side on one record, asks first\n"
     "  remove ID          asks first; a record named in a signed move is kept and\n"
     "                     marked removed (it can no longer be named), else deleted\n"
     "  --yes              do it without asking (needed without a terminal)",
     "keep the case file of detainee records"},
    {"send", pl_cmd_send,
     "send NAME TEXT [--via MEDIATOR]\n"
     "  --via MEDIATOR  hand the note to MEDIATOR to pass on (proximity talks): the\n"
     "                  mediator reads it; once passed on, only its custody\n"
     "                  signature vouches for it (a note is not signed)",
     "queue a note for NAME and deliver it"},
    {"forward", pl_cmd_forward,
     "forward ID [--note TEXT]\n"
     "  ID  a move waiting to be passed on (parley inbox); it goes to the party it\n"
     "      is addressed to under your custody signature, with your note, and its\n"
     "      author is told. Once per move (forward or hold)",
     "pass on a move you carry as mediator"},
    {"hold", pl_cmd_hold,
     "hold ID --reason TEXT\n"
     "  ID  a move waiting to be passed on (parley inbox); it is kept back and its\n"
     "      author gets your signed notice with the reason. Once per move",
     "keep back a move you carry as mediator"},
    {"introduce", pl_cmd_introduce,
     "introduce NAME1 NAME2\n"
     "  sends NAME1 an introduction of NAME2's key and NAME2 one of NAME1's, each\n"
     "  signed by this vault: two parties that never met can then talk, each seeing\n"
     "  the other as introduced by you. Both must be contacts you verified in person\n"
     "  (not changed, not revoked, not themselves only introduced to you)",
     "vouch to two verified contacts for each other's key"},
    {"outreach", pl_cmd_outreach, "outreach NAME --topic TEXT",
     "invite NAME to talk about a topic"},
    {"propose", pl_cmd_propose,
     "propose NAME --we-release ID,... --they-release ID,... [--condition TEXT]...\n"
     "       [--place TEXT] [--sequencing simultaneous|staged] [--mediator NAME]\n"
     "       [--expires DURATION|TIME] [--via MEDIATOR] [--yes]\n"
     "  --we-release ID,...    case records (parley case list) of people we release\n"
     "  --they-release ID,...  case records of people NAME releases\n"
     "  --condition TEXT       a term both sign, one line; repeat for several\n"
     "  --place TEXT           where the exchange happens\n"
     "  --sequencing simultaneous  both sides release at the same time;\n"
     "               staged        in steps, one side after the other (say the\n"
     "                             order with --condition); not stated if omitted\n"
     "  --mediator NAME        a verified contact (not NAME) the proposal names as\n"
     "                         mediator; their key is signed into it. Once accepted,\n"
     "                         the agreement goes to the mediator to guarantee\n"
     "  --commit WHO:TEXT      a commitment of one signer beyond the releases (one\n"
     "                         line; repeat): we:, they: or mediator: (binds the\n"
     "                         mediator only once it guarantees)\n"
     "  --expires DURATION|TIME  90s, 45m, 48h, 7d, 2w; or a date and time with its\n"
     "                         zone: 2026-12-06T18:00:00Z, 2026-12-06T18:00+03:30,\n"
     "                         \"2026-12-06 18:00 Asia/Tehran\". Without --expires a\n"
     "                         proposal never expires: it stays open until answered\n"
     "                         or withdrawn\n"
     "  --yes                  sign without showing the terms and asking (scripts);\n"
     "                         without a terminal --yes is required\n"
     "  The people named carry the fields of their case records (see case --help).\n"
     "  --via MEDIATOR (also on outreach, request, counter, respond, accept, reject,\n"
     "  withdraw, send): the move, signed for NAME exactly as a direct one, is handed\n"
     "  to MEDIATOR, who reads it and passes it on (parley forward) or holds it back\n"
     "  (parley hold); parley thread shows the path it took",
     "send a signed exchange proposal"},
    {"accept", pl_cmd_accept,
     "accept ID [--yes]\n"
     "  ID     the proposal's id from inbox, or its first 4 or more hex digits\n"
     "  shows the whole proposal and asks before signing; an acceptance cannot be\n"
     "  taken back. --yes: sign without asking (scripts; needed without a terminal)",
     "countersign a proposal: it becomes an agreement"},
    {"guarantee", pl_cmd_guarantee,
     "guarantee ID [--text TEXT] [--yes]\n"
     "  ID     an agreement delivered to you as the mediator it names (parley inbox;\n"
     "         4 or more hex digits of its id)\n"
     "  --text TEXT  your words as guarantor; several lines allowed\n"
     "  signs a guarantee of the agreement, with the commitments its terms give you,\n"
     "  and sends one to each party; shows it all and asks unless --yes",
     "countersign, as mediator, an agreement that names you"},
    {"reject", pl_cmd_reject,
     "reject ID [--reason TEXT]\n"
     "  ID  the proposal's id, or its first 4 or more hex digits; commits to nothing,\n"
     "      so it does not ask",
     "reject a proposal"},
    {"counter", pl_cmd_counter,
     "counter ID --we-release ... --they-release ... [options of propose] [--yes]\n"
     "  ID  the proposal answered (4 or more hex digits of its id); the new proposal\n"
     "      goes to its author and supersedes it; \"we\" is you. See propose --help\n"
     "      for the terms; shows them and asks before signing unless --yes",
     "answer a proposal with one that supersedes it"},
    {"withdraw", pl_cmd_withdraw,
     "withdraw ID [--reason TEXT] [--yes]\n"
     "  ID  your open proposal (4 or more hex digits of its id); shows it and asks\n"
     "      before signing unless --yes (scripts; needed without a terminal)",
     "withdraw your own open proposal"},
    {"request", pl_cmd_request,
     "request NAME --detainee ID --kind medical-leave|consular-access|proof-of-life|release\n"
     "       --urgency routine|urgent|critical [--text TEXT]\n"
     "  --detainee ID  a case record (parley case list); its fields go to NAME (see\n"
     "                 case --help)\n"
     "  --text TEXT    what you ask, in your words; several lines allowed",
     "make a humanitarian request"},
    {"respond", pl_cmd_respond,
     "respond ID --grant|--deny [--text TEXT] [--yes]\n"
     "  ID  the request (4 or more hex digits of its id from inbox); shows it and\n"
     "      asks before signing unless --yes (scripts; needed without a terminal)",
     "answer a humanitarian request"},
    {"people", pl_cmd_people,
     "people\n"
     "  every detainee named in a signed move this vault holds (its threads, the\n"
     "  moves it carried and the agreements it holds as mediator), with each\n"
     "  proposal and request naming them and its state, and the execution plan\n"
     "  of their agreement: how many steps are confirmed and which is next.\n"
     "  --json: the same as data",
     "where each named detainee stands, across threads and plans"},
    {"inbox", pl_cmd_inbox,
     "inbox\n"
     "  every term of every move received, each party by name; times in UTC and in\n"
     "  your time zone (TZ). --json: the same as data",
     "everything received, with its state"},
    {"export", pl_cmd_export,
     "export agreement ID --out FILE [--format json|text|pdf] | export thread NAME --out FILE\n"
     "       | export execution PLAN --out FILE  (an execution plan's whole signed record)\n"
     "  ID  the accepted proposal or the acceptance (4 or more hex digits of its id)\n"
     "  --format json  the signed file (the default); text  a document to read and\n"
     "  print with the signed file at its end, which parley verify checks whole;\n"
     "  pdf  the same document as PDF (its check command names the text document)",
     "write a file anyone can verify"},
    {"verify", pl_cmd_verify, "verify FILE [--expect-key KEY]... [--relay-key VKEY]",
     "check an exported file offline (no vault needed)"},
    {"sync", pl_cmd_sync, "sync", "deliver what is queued, fetch and process what is waiting"},
    {"thread", pl_cmd_thread,
     "thread NAME\n"
     "  both directions, oldest first, every term of every move (see inbox --help)",
     "print the conversation with NAME"},
    {"purge", pl_cmd_purge,
     "purge --notes-before DATE\n"
     "  DATE  YYYY-MM-DD (midnight UTC) or YYYY-MM-DDTHH:MM:SSZ, not in the future;\n"
     "        notes sent or received before it are deleted and scrubbed from the\n"
     "        vault's files; signed objects and notes still queued are kept",
     "delete old notes; negotiation moves are kept"},
    {"prove", pl_cmd_prove, "prove outreach NAME --out FILE",
     "prove to anyone what you deposited for NAME and that NAME fetched it"},
    {"relay", pl_cmd_relay,
     "relay evidence [--out FILE] | set-url URL | move URL [--relay-cert FILE]\n"
     "      [--insecure-http] | insecure-http | proxy URL|none\n"
     "  evidence       the relay's signed statements that contradict each other;\n"
     "                 --out FILE writes them as a file anyone can check with\n"
     "                 parley verify (which says what the signatures prove)\n"
     "  set-url URL    the same relay (the key this vault pinned) at a new address\n"
     "  move URL       move this mailbox to another relay (a new key, pinned on first\n"
     "                 use) and tell every verified contact with a signed notice\n"
     "  insecure-http  allow plain http:// to this vault's relay on another computer\n"
     "  proxy URL      reach the relay through this SOCKS proxy (socks5h://HOST:PORT,\n"
     "                 e.g. Tor); none: connect directly",
     "show signed proof that the relay forked its log or withheld envelopes"},
    {"pending", pl_cmd_pending,
     "pending list | drop ID|--all\n"
     "  list  envelopes kept unread because their sender is not a verified contact,\n"
     "        with the key each claims (proof of nothing until you verify it)\n"
     "  drop  forget one (ID: 4+ hex digits from list) or all of them",
     "show or drop envelopes waiting for a contact to be verified"},
    {"backup", pl_cmd_backup, "backup --out FILE",
     "write a sealed, consistent backup of the vault to a new FILE"},
    {"restore", pl_cmd_restore, "restore FILE   (with --vault NEWDIR)",
     "make a vault in a new folder from a backup; it re-keys with every contact"},
    {"plan", pl_cmd_plan,
     "plan AGREEMENT_ID --file PLAN.json [--agreement FILE] | plan accept PLAN |\n"
     "     plan show PLAN | plan abort PLAN --reason TEXT | plan resend PLAN\n"
     "  AGREEMENT_ID  the agreement's proposal or acceptance (4 or more hex digits);\n"
     "                run by the mediator the agreement names, who sends the plan to\n"
     "                both parties (file format: docs/PLAN.md)\n"
     "  --agreement FILE  the agreement file a party exported (parley export\n"
     "                agreement), when this vault does not hold the agreement\n"
     "  accept  a party accepts the plan; nothing starts before both have\n"
     "  show    each step with its state (waiting, ready, done, confirmed, late,\n"
     "          aborted), who attested what, signed (their clock) and logged (the\n"
     "          relay log's time) where known\n"
     "  abort   stops the plan, unless a point-of-no-return step is attested done\n"
     "  resend  sends again every plan object you signed (a delivery lost for good);\n"
     "          the others keep one copy of each",
     "the execution plan of an agreement, step by step"},
    {"step", pl_cmd_step,
     "step done PLAN STEP [--text TEXT] | step confirm PLAN STEP\n"
     "  done     the step's performer attests it is done; only once every step it\n"
     "           waits for is confirmed\n"
     "  confirm  one of the step's confirmers confirms it",
     "attest a step of an execution plan"},
    {"match", pl_cmd_match,
     "match intent NAME --topic TEXT --answer yes|no |\n"
     "     match packages NAME --file PACKAGES.json [--max N] [--label TEXT] |\n"
     "     match count NAME --detainees ID,...|@FILE [--max N] [--label TEXT] |\n"
     "     match show ID | match list | match export ID --out FILE | match resend ID |\n"
     "     match propose ID N [options of propose]\n"
     "  Both sides run the same command; the protocol (ECDH private set\n"
     "  intersection) runs over the relay now and at the next syncs. Only what\n"
     "  both lists share is revealed (docs/MATCH.md says exactly what each side\n"
     "  and the relay learn).\n"
     "  intent    both learn \"match\" only if both answered yes; then each holds the\n"
     "            other's signed commitment to talk (match export, parley verify)\n"
     "  packages  exchange packages each side would accept (file: docs/MATCH.md);\n"
     "            both learn only the packages on both lists\n"
     "  count     how many people are on both lists, and nothing about which; ID is a\n"
     "            person identifier: ISS:DOC, passport issuer and number, IRN:K1234567\n"
     "  --max N   the longest list you accept from the other side (packages: 32,\n"
     "            count: 1024); the smaller of the two sides' is agreed, and a\n"
     "            longer list is refused before any list is sent\n"
     "  --label TEXT  names a packages or count match, so one can be run again\n"
     "  resend    sends again your messages of a match (a delivery lost for good)\n"
     "  propose   package N of a done packages match as a signed proposal to the\n"
     "            other side: each person identifier names the case record that\n"
     "            carries it (case add|edit --person-id ISS:DOC)",
     "blind matching: mutual intent, acceptable packages, private counts"},
    {"demo", pl_cmd_demo, "demo", "play the seed story through a real relay on loopback"},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const pl_cli_cmd *find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

void pl_cli_help(const char *cmd)
{
	const pl_cli_cmd *c = find_command(cmd);
	if (c == NULL)
		return;
	printf(
	    "usage: parley [--vault DIR] [--json] [--passphrase-file FILE] [--proxy URL] [--yes] "
	    "%s\n\n"
	    "%s\n",
	    c->usage, c->summary);
}

static void usage_all(FILE *out)
{
	fprintf(
	    out,
	    "usage: parley [--vault DIR] [--json] [--passphrase-file FILE] [--proxy URL] COMMAND "
	    "[ARGS]\n\n"
	    "A secure back-channel for negotiating between parties that distrust each other.\n\n"
	    "Commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out,
		"\nGlobal options:\n"
		"  --vault DIR              vault folder (default $PARLEY_VAULT, else ~/.parley)\n"
		"  --json                   machine output: one JSON document on stdout; on a\n"
		"                           failure {\"error\": MESSAGE, \"exit\": CODE}\n"
		"  --passphrase-file FILE   read the passphrase from FILE\n"
		"  --yes                    sign binding moves (accept, propose, counter,\n"
		"                           respond, withdraw) without showing them and asking;\n"
		"                           needed when stdin is not a terminal\n"
		"  --proxy URL              this run reaches the relay through the SOCKS proxy\n"
		"                           URL (socks5h://HOST:PORT, e.g. Tor), or directly\n"
		"                           (none)\n"
		"Global options are accepted after the command too (parley id --json).\n"
		"The passphrase comes from $PARLEY_PASSPHRASE, --passphrase-file, or a prompt,\n"
		"in that order.\n\n"
		"Exit codes: 0 ok, 1 error, 2 usage, 3 vault (missing, exists, wrong passphrase),\n"
		"4 relay unreachable or refused, 5 refused for safety or verification failed,\n"
		"6 malformed input, 7 not found, 8 move refused in the item's state.\n"
		"Run 'parley COMMAND --help' for a command's options.\n");
}

/* The global options after the command name (before any "--") are this
 * run's too, so that `parley id --json` works as `parley --json id` does;
 * they are taken out of argv before the command sees it. */
static int take_globals(pl_cli *cli, int *argc, char **argv, int cmd)
{
	for (int k = cmd + 1; k < *argc; k++) {
		const char *a = argv[k];
		if (strcmp(a, "--") == 0)
			return 0;
		int take = 1;
		if (strcmp(a, "--json") == 0) {
			cli->json = 1;
		} else if (strcmp(a, "--yes") == 0) {
			cli->yes = 1;
		} else if (strcmp(a, "--proxy") == 0 || strcmp(a, "--vault") == 0 ||
			   strcmp(a, "--passphrase-file") == 0) {
			if (k + 1 >= *argc) {
				pl_cli_error("%s needs a value; see parley --help", a);
				return -1;
			}
			if (a[2] == 'p' && a[3] == 'r')
				cli->proxy = argv[k + 1];
			else if (a[2] == 'v')
				cli->vault_dir = argv[k + 1];
			else
				cli->passfile = argv[k + 1];
			take = 2;
		} else {
			continue;
		}
		memmove(&argv[k], &argv[k + take], (size_t)(*argc - k - take) * sizeof *argv);
		*argc -= take;
		argv[*argc] = NULL;
		k--;
	}
	return 0;
}

static int check_proxy(const pl_cli *cli)
{
	pl_err e;
	pl_err_clear(&e);
	if (cli->proxy == NULL || strcmp(cli->proxy, "none") == 0 ||
	    pl_rc_proxy_check(cli->proxy, &e) >= 0)
		return 0;
	pl_cli_error("%s", e.msg);
	return -1;
}

static int run(int argc, char **argv);

int pl_cli_main(int argc, char **argv)
{
	pl_cli_nfc_args(argc, argv);
	return pl_cli_finish(run(argc, argv));
}

static int run(int argc, char **argv)
{
	pl_cli cli;
	memset(&cli, 0, sizeof cli);
	if (sodium_init() < 0) {
		fprintf(stderr,
			"parley: libsodium failed to initialise; the system lacks a working "
			"random source\n");
		return PL_EXIT_ERROR;
	}
	int i = 1;
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--json") == 0) {
			cli.json = 1;
			pl_cli_set_json(1);
		} else if (strcmp(a, "--yes") == 0) {
			cli.yes = 1;
		} else if (strcmp(a, "--proxy") == 0) {
			if (i + 1 >= argc) {
				pl_cli_error("--proxy needs a value; see parley --help");
				return PL_EXIT_USAGE;
			}
			cli.proxy = argv[++i];
		} else if (strcmp(a, "--vault") == 0 || strcmp(a, "--passphrase-file") == 0) {
			if (i + 1 >= argc) {
				pl_cli_error("%s needs a value; see parley --help", a);
				return PL_EXIT_USAGE;
			}
			if (a[2] == 'v')
				cli.vault_dir = argv[++i];
			else
				cli.passfile = argv[++i];
		} else if (strcmp(a, "--help") == 0) {
			usage_all(stdout);
			return PL_EXIT_OK;
		} else if (strcmp(a, "--version") == 0) {
			printf("parley 0.1\n");
			return PL_EXIT_OK;
		} else {
			pl_cli_error("unknown option %s; see parley --help", a);
			return PL_EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage_all(stderr);
		return PL_EXIT_USAGE;
	}
	if (strcmp(argv[i], "help") == 0) {
		if (i + 1 < argc && find_command(argv[i + 1])) {
			pl_cli_help(argv[i + 1]);
		} else {
			usage_all(stdout);
		}
		return PL_EXIT_OK;
	}
	const pl_cli_cmd *c = find_command(argv[i]);
	if (c == NULL) {
		pl_cli_error("unknown command '%s'; see parley --help", argv[i]);
		return PL_EXIT_USAGE;
	}
	cli.cmd = c->name;
	if (take_globals(&cli, &argc, argv, i) != 0)
		return PL_EXIT_USAGE;
	pl_cli_set_json(cli.json);
	if (cli.vault_dir == NULL) {
		const char *env = getenv("PARLEY_VAULT");
		const char *home = getenv("HOME");
		if (env && *env) {
			cli.vault_dir = env;
		} else if (home && *home) {
			snprintf(cli.vault_buf, sizeof cli.vault_buf, "%s/.parley", home);
			cli.vault_dir = cli.vault_buf;
		} else {
			pl_cli_error("no vault folder: pass --vault DIR or set PARLEY_VAULT");
			return PL_EXIT_USAGE;
		}
	}
	if (pl_cli_wants_help(argc - i, argv + i)) {
		pl_cli_help(c->name);
		return PL_EXIT_OK;
	}
	if (check_proxy(&cli) != 0)
		return PL_EXIT_USAGE;
	return c->run(&cli, argc - i, argv + i);
}
