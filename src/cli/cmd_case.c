/*
 * cmd_case.c — `parley case add|list|show|edit|link|remove`: this party's
 * case file of detainee records (people it holds, and its own people held by
 * the other side). Records are sealed in the vault; ids are small local
 * numbers, and a random reference travels with a record when a proposal
 * names it, with the shared fields only (name, held by, nationality, born,
 * shared summary); priority, notes and the rest never leave the vault.
 */
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "client/nego.h"
#include "negotiation/match.h"
#include "util/codec.h"

json_t *pl_cli_case_json(const pl_case *c)
{
	char ref[2 * PL_CASE_REF_LEN + 1], created[PL_RFC3339_LEN], updated[PL_RFC3339_LEN];
	pl_hex_encode(ref, c->ref, sizeof c->ref);
	pl_time_rfc3339(created, c->created);
	pl_time_rfc3339(updated, c->updated);
	json_t *nat = json_array();
	const char *p = c->nationality;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		while (len > 0 && *p == ' ')
			p++, len--;
		while (len > 0 && p[len - 1] == ' ')
			len--;
		if (len > 0)
			json_array_append_new(nat, json_stringn(p, len));
		if (!comma)
			break;
		p = comma + 1;
	}
	json_t *j = json_pack(
	    "{s:I, s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:b}",
	    "id", (json_int_t)c->id, "ref", ref, "name", c->name, "held_by", c->held_by,
	    "nationality", nat, "born", c->born, "since", c->since, "charges", c->charges,
	    "sentence", c->sentence, "humanitarian", c->humanitarian, "priority", c->priority,
	    "created", created, "updated", updated, "summary", c->summary, "note", c->note,
	    "removed", c->removed);
	json_object_set_new(j, "person_id", json_string(c->person_id));
	json_object_set_new(
	    j, "shared",
	    json_pack("[s, s, s, s, s]", "name", "held_by", "nationality", "born", "summary"));
	json_object_set_new(j, "internal",
			    json_pack("[s, s, s, s, s, s, s]", "since", "charges", "sentence",
				      "humanitarian", "priority", "note", "person_id"));
	return j;
}

/* label: value, continuation lines of a multi-line value indented. */
static void print_field(const char *label, const char *val)
{
	if (val[0] == '\0')
		return;
	printf("  %-14s", label);
	for (const char *p = val; *p; p++) {
		putchar(*p);
		if (*p == '\n' && p[1])
			printf("  %-14s", "");
	}
	putchar('\n');
}

static void print_case(const pl_case *c)
{
	char ref[2 * PL_CASE_REF_LEN + 1], prio[8];
	pl_hex_encode(ref, c->ref, sizeof c->ref);
	printf("record %lld (reference %s)%s\n", (long long)c->id, ref,
	       c->removed ? " [removed: kept because a signed move names it]" : "");
	printf("Shared: sent to the other side when a proposal or request names this "
	       "record\n");
	print_field("name:", c->name);
	print_field("held by:", c->held_by);
	print_field("nationality:", c->nationality);
	print_field("born:", c->born);
	print_field("summary:", c->summary);
	printf("Internal: kept in this vault, never sent\n");
	snprintf(prio, sizeof prio, "%d", c->priority);
	print_field("priority:", prio);
	print_field("held since:", c->since);
	print_field("charges:", c->charges);
	print_field("sentence:", c->sentence);
	print_field("humanitarian:", c->humanitarian);
	print_field("note:", c->note);
	print_field("person id:", c->person_id);
}

/* The other side's references linked to record c, as lines or JSON. */
static json_t *links_json(pl_vault *v, const pl_case *c, int print)
{
	pl_case_link *ls;
	size_t n;
	json_t *a = json_array();
	if (pl_vault_links_of(v, c->id, &ls, &n, NULL) != 0)
		return a;
	if (print)
		printf("Links: %s\n", n ? ""
					: "none (link another side's reference with parley "
					  "case link THEIR_REF ID)");
	for (size_t i = 0; i < n; i++) {
		char hex[2 * PL_CASE_REF_LEN + 1];
		pl_hex_encode(hex, ls[i].ref, PL_CASE_REF_LEN);
		if (print)
			printf("  %s's record %s\n", ls[i].contact, hex);
		json_array_append_new(
		    a, json_pack("{s:s, s:s}", "contact", ls[i].contact, "ref", hex));
	}
	free(ls);
	return a;
}

static int set_field(char *dst, size_t cap, const char *val, const char *flag)
{
	if (strlen(val) >= cap)
		return pl_cli_usage("case", "%s is longer than %zu bytes", flag, cap - 1);
	strcpy(dst, val);
	return 0;
}

/* Parses the record options into c; `adding` requires --name and --held-by. */
static int parse_case_opts(pl_case *c, int argc, char **argv, int first, int adding)
{
	static const struct option opts[] = {{"name", required_argument, NULL, 'n'},
					     {"held-by", required_argument, NULL, 'h'},
					     {"nationality", required_argument, NULL, 'N'},
					     {"since", required_argument, NULL, 's'},
					     {"charges", required_argument, NULL, 'c'},
					     {"sentence", required_argument, NULL, 'S'},
					     {"born", required_argument, NULL, 'b'},
					     {"humanitarian", required_argument, NULL, 'H'},
					     {"priority", required_argument, NULL, 'p'},
					     {"shared-summary", required_argument, NULL, 'U'},
					     {"note", required_argument, NULL, 'o'},
					     {"person-id", required_argument, NULL, 'I'},
					     {NULL, 0, NULL, 0}};
	int ch, rc = 0, any = 0;
	optind = first;
	opterr = 0;
	while (rc == 0 && (ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		any = 1;
		switch (ch) {
		case 'n':
			rc = set_field(c->name, sizeof c->name, optarg, "--name");
			break;
		case 'h':
			rc = set_field(c->held_by, sizeof c->held_by, optarg, "--held-by");
			break;
		case 'N':
			rc = set_field(c->nationality, sizeof c->nationality, optarg,
				       "--nationality");
			break;
		case 's':
			rc = set_field(c->since, sizeof c->since, optarg, "--since");
			break;
		case 'c':
			rc = set_field(c->charges, sizeof c->charges, optarg, "--charges");
			break;
		case 'S':
			rc = set_field(c->sentence, sizeof c->sentence, optarg, "--sentence");
			break;
		case 'b':
			rc = set_field(c->born, sizeof c->born, optarg, "--born");
			break;
		case 'H':
			rc = set_field(c->humanitarian, sizeof c->humanitarian, optarg,
				       "--humanitarian");
			break;
		case 'U':
			rc = set_field(c->summary, sizeof c->summary, optarg, "--shared-summary");
			break;
		case 'o':
			rc = set_field(c->note, sizeof c->note, optarg, "--note");
			break;
		case 'I': {
			/* "" clears it; otherwise ISS:DOC, normalised as blind
			 * matching computes it (docs/MATCH.md) */
			pl_err pe;
			pl_err_clear(&pe);
			if (optarg[0] == '\0')
				c->person_id[0] = '\0';
			else if (pl_person_id_normalise(c->person_id, optarg, &pe) != 0)
				return pl_cli_usage("case", "--person-id: %s", pe.msg);
			break;
		}
		case 'p': {
			char *end;
			long p = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || p < 0 || p > 100)
				return pl_cli_usage("case", "--priority must be a number from 0 "
							    "to 100");
			c->priority = (int)p;
			break;
		}
		default:
			return pl_cli_usage("case", "unknown or incomplete option %s",
					    argv[optind - 1]);
		}
	}
	if (rc != 0)
		return rc;
	if (optind != argc)
		return pl_cli_usage("case", "unexpected argument '%s'", argv[optind]);
	if (adding && (c->name[0] == '\0' || c->held_by[0] == '\0'))
		return pl_cli_usage("case", "case add needs --name NAME and --held-by PARTY");
	if (!adding && !any)
		return pl_cli_usage("case", "case edit needs at least one field to change");
	return 0;
}

static int parse_id(const char *s, int64_t *id)
{
	char *end;
	long long x = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || x <= 0)
		return -1;
	*id = x;
	return 0;
}

static int case_add(pl_cli *cli, pl_vault *v, int argc, char **argv)
{
	pl_case c;
	memset(&c, 0, sizeof c);
	int rc = parse_case_opts(&c, argc, argv, 2, 1);
	if (rc != 0)
		return rc;
	pl_err e;
	pl_err_clear(&e);
	if (pl_vault_case_add(v, &c, &e) != 0)
		return pl_cli_fail(&e);
	if (cli->json)
		pl_cli_json_out(pl_cli_case_json(&c));
	else
		printf("%lld\n", (long long)c.id);
	sodium_memzero(&c, sizeof c);
	return PL_EXIT_OK;
}

static int case_edit(pl_cli *cli, pl_vault *v, int argc, char **argv)
{
	int64_t id;
	if (argc < 3 || parse_id(argv[2], &id) != 0)
		return pl_cli_usage("case", "case edit needs a record ID (a number from parley "
					    "case list)");
	pl_err e;
	pl_err_clear(&e);
	pl_case c;
	if (pl_vault_case_get(v, id, &c, &e) != 0)
		return pl_cli_fail(&e);
	int rc = parse_case_opts(&c, argc, argv, 3, 0);
	if (rc == 0 && pl_vault_case_update(v, &c, &e) != 0)
		rc = pl_cli_fail(&e);
	if (rc == 0) {
		if (cli->json)
			pl_cli_json_out(pl_cli_case_json(&c));
		else
			print_case(&c);
	}
	sodium_memzero(&c, sizeof c);
	return rc;
}

static int case_show(pl_cli *cli, pl_vault *v, int argc, char **argv)
{
	int64_t id;
	if (argc != 3 || parse_id(argv[2], &id) != 0)
		return pl_cli_usage("case", "case show needs a record ID");
	pl_err e;
	pl_err_clear(&e);
	pl_case c;
	if (pl_vault_case_get(v, id, &c, &e) != 0)
		return pl_cli_fail(&e);
	if (cli->json) {
		json_t *j = pl_cli_case_json(&c);
		json_object_set_new(j, "links", links_json(v, &c, 0));
		pl_cli_json_out(j);
	} else {
		print_case(&c);
		json_decref(links_json(v, &c, 1));
	}
	sodium_memzero(&c, sizeof c);
	return PL_EXIT_OK;
}

static int case_list(pl_cli *cli, pl_vault *v, int argc)
{
	if (argc != 2)
		return pl_cli_usage("case", "case list takes no arguments");
	pl_err e;
	pl_err_clear(&e);
	pl_case *cs;
	size_t n;
	if (pl_vault_case_list(v, &cs, &n, &e) != 0)
		return pl_cli_fail(&e);
	json_t *arr = cli->json ? json_array() : NULL;
	for (size_t i = 0; i < n; i++) {
		if (arr)
			json_array_append_new(arr, pl_cli_case_json(&cs[i]));
		else {
			printf("%4lld  ", (long long)cs[i].id);
			pl_cli_pad(cs[i].name, 32);
			printf(" held by ");
			pl_cli_pad(cs[i].held_by, 16);
			printf(" priority %d%s\n", cs[i].priority,
			       cs[i].removed ? "  [removed]" : "");
		}
	}
	if (arr)
		pl_cli_json_out(arr);
	else if (n == 0)
		printf("the case file is empty; add a record with parley case add\n");
	if (cs) {
		sodium_memzero(cs, n * sizeof *cs);
		free(cs);
	}
	return PL_EXIT_OK;
}

static int case_link(pl_cli *cli, pl_vault *v, int argc, char **argv)
{
	uint8_t ref[PL_CASE_REF_LEN];
	int64_t id;
	if (argc != 4 || pl_hex_decode(ref, sizeof ref, argv[2]) != 0 ||
	    parse_id(argv[3], &id) != 0)
		return pl_cli_usage("case", "case link needs THEIR_REF (16 hex digits, as shown "
					    "in parley inbox) and one of your record IDs");
	pl_err e;
	pl_err_clear(&e);
	char contact[PL_NAME_MAX + 1];
	pl_case c;
	if (pl_nego_ref_contact(v, ref, contact, &e) != 0 || pl_vault_case_get(v, id, &c, &e) != 0)
		return pl_cli_fail(&e);
	sodium_memzero(&c, sizeof c);
	/* Moving a link, or a second reference of the same side on one record,
	 * changes which person their moves are read as: ask. */
	char question[512];
	question[0] = '\0';
	int64_t old;
	if (pl_vault_link_get(v, contact, ref, &old, NULL) == 0) {
		if (old == id) {
			if (cli->json)
				pl_cli_json_out(json_pack("{s:s, s:s, s:I}", "contact", contact,
							  "ref", argv[2], "id", (json_int_t)id));
			else
				printf("%s's record %s is already linked to your record %lld\n",
				       contact, argv[2], (long long)id);
			return PL_EXIT_OK;
		}
		snprintf(question, sizeof question,
			 "%s's record %s is linked to your record %lld; this moves the link to "
			 "your record %lld.",
			 contact, argv[2], (long long)old, (long long)id);
	} else {
		pl_case_link *ls;
		size_t n;
		if (pl_vault_links_of(v, id, &ls, &n, &e) != 0)
			return pl_cli_fail(&e);
		for (size_t i = 0; i < n && !question[0]; i++)
			if (strcmp(ls[i].contact, contact) == 0) {
				char hex[2 * PL_CASE_REF_LEN + 1];
				pl_hex_encode(hex, ls[i].ref, PL_CASE_REF_LEN);
				snprintf(question, sizeof question,
					 "your record %lld is already linked to %s's record %s; "
					 "this links a second record of %s (%s) to it, as the "
					 "same person.",
					 (long long)id, contact, hex, contact, argv[2]);
			}
		free(ls);
	}
	if (question[0]) {
		int rc = pl_cli_confirm(cli, "case link", "link them", question);
		if (rc != 0)
			return rc;
	}
	if (pl_vault_link_put(v, contact, ref, id, &e) != 0)
		return pl_cli_fail(&e);
	if (cli->json)
		pl_cli_json_out(json_pack("{s:s, s:s, s:I}", "contact", contact, "ref", argv[2],
					  "id", (json_int_t)id));
	else
		printf("linked %s's record %s to your record %lld\n", contact, argv[2],
		       (long long)id);
	return PL_EXIT_OK;
}

/* Deletes a record nobody signed; keeps and marks one a signed move names
 * (the transcript must still say who it was about). */
static int case_remove(pl_cli *cli, pl_vault *v, int argc, char **argv)
{
	int64_t id;
	if (argc != 3 || parse_id(argv[2], &id) != 0)
		return pl_cli_usage("case", "case remove needs a record ID (a number from parley "
					    "case list)");
	pl_err e;
	pl_err_clear(&e);
	pl_case c;
	if (pl_vault_case_get(v, id, &c, &e) != 0)
		return pl_cli_fail(&e);
	int rc = PL_EXIT_OK;
	if (c.removed) {
		rc = pl_cli_usage("case", "record %lld is already removed", (long long)id);
		goto out;
	}
	int named = pl_nego_case_named(v, &c, &e);
	if (named < 0) {
		rc = pl_cli_fail(&e);
		goto out;
	}
	char question[400];
	snprintf(question, sizeof question,
		 named ? "Record %lld (%s) is named in a signed move: it will be kept, marked "
			 "removed, and can no longer be named in new moves."
		       : "Record %lld (%s) is named in no signed move: it and its links will be "
			 "deleted from this vault.",
		 (long long)id, c.name);
	rc = pl_cli_confirm(cli, "case remove", named ? "mark it removed" : "delete it", question);
	if (rc != 0)
		goto out;
	if (named) {
		c.removed = 1;
		if (pl_vault_case_update(v, &c, &e) != 0)
			rc = pl_cli_fail(&e);
	} else if (pl_vault_case_delete(v, id, &e) != 0) {
		rc = pl_cli_fail(&e);
	}
	if (rc == 0) {
		if (cli->json)
			pl_cli_json_out(json_pack("{s:I, s:s}", "id", (json_int_t)id, "removed",
						  named ? "marked" : "deleted"));
		else
			printf(named ? "record %lld is named in a signed move: kept and marked "
				       "removed\n"
				     : "record %lld deleted\n",
			       (long long)id);
	}
out:
	sodium_memzero(&c, sizeof c);
	return rc;
}

int pl_cmd_case(pl_cli *cli, int argc, char **argv)
{
	if (argc < 2)
		return pl_cli_usage(
		    "case", "case needs a subcommand: add, list, show, edit, link or remove");
	const char *sub = argv[1];
	if (strcmp(sub, "add") && strcmp(sub, "list") && strcmp(sub, "show") &&
	    strcmp(sub, "edit") && strcmp(sub, "link") && strcmp(sub, "remove"))
		return pl_cli_usage("case", "unknown case subcommand '%s'", sub);
	pl_err e;
	pl_err_clear(&e);
	pl_vault *v;
	if (pl_cli_open_vault(cli, &v, &e) != 0)
		return pl_cli_fail(&e);
	int rc;
	if (strcmp(sub, "add") == 0)
		rc = case_add(cli, v, argc, argv);
	else if (strcmp(sub, "list") == 0)
		rc = case_list(cli, v, argc);
	else if (strcmp(sub, "show") == 0)
		rc = case_show(cli, v, argc, argv);
	else if (strcmp(sub, "edit") == 0)
		rc = case_edit(cli, v, argc, argv);
	else if (strcmp(sub, "remove") == 0)
		rc = case_remove(cli, v, argc, argv);
	else
		rc = case_link(cli, v, argc, argv);
	pl_vault_close(v);
	return rc;
}
