/*
 * test_backup.c — backups of a vault (src/vault/vault_backup.c) and what a
 * restored or put-back vault does (src/client/copies.c):
 *   - the file format: seal and open round-trip; the strict decoder refuses
 *     a wrong magic, version, KDF record, a zero date, a file too short or
 *     too long; every flipped byte of the header (authenticated as AD) and
 *     of the sealed image makes it fail to open; a wrong passphrase is told
 *     apart from a file that is not a backup; installing refuses an image
 *     that is not a database and never replaces a vault; restoring refuses
 *     a folder holding a vault or anything else;
 *   - through parley-relay on 127.0.0.1: alice is backed up, goes on (sends
 *     3 notes bob opens, fetches 2 of his), and the backup is restored: the
 *     restored vault holds no session, has prekey ids far past the old
 *     ones, and bob opens everything it sends (a reused message key would
 *     make him refuse one) plus the restored notice; its sync lists what
 *     the old copy fetched as missing, acknowledged by another copy, with
 *     nothing withheld and no evidence stored. A raw copy of the vault put
 *     back (the image installed as is) is caught at its first delivery and
 *     re-keys before encrypting: bob opens everything it sends too;
 *   - a malicious relay (a proxy in front of the real one) that withholds
 *     an envelope from the restored vault cannot pass it off as fetched by
 *     the other copy: it is reported withheld, with evidence.
 * The relay tests are skipped when the relay binary is not there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/copies.h"
#include "evil_relay.h"
#include "client/messenger.h"
#include "envelope/envelope.h"
#include "support.h"
#include "util/codec.h"
#include "util/wire.h"
#include "vault/vault_int.h"

#define PASS "a backup passphrase of some length"

/* The cheapest Argon2id libsodium allows: the format, not the cost, is
 * under test here. */
static void cheap_kdf(pl_kdf_params *k)
{
	pl_vault_kdf_new(k, PL_VAULT_KDF_TEST_ONLY);
	k->ops = crypto_pwhash_argon2id_OPSLIMIT_MIN;
	k->mem = crypto_pwhash_argon2id_MEMLIMIT_MIN;
}

static void make_file(uint8_t **f, size_t *n, const uint8_t *img, size_t imglen, uint64_t created)
{
	pl_kdf_params k;
	pl_err e;
	pl_err_clear(&e);
	cheap_kdf(&k);
	assert_int_equal(pl_backup_seal(f, n, img, imglen, &k, created, PASS, strlen(PASS), &e), 0);
}

static void test_roundtrip(void **state)
{
	(void)state;
	uint8_t img[700], *f, *out;
	size_t n, outlen;
	uint64_t created;
	pl_err e;
	pl_err_clear(&e);
	randombytes_buf(img, sizeof img);
	make_file(&f, &n, img, sizeof img, 1767225600);
	assert_int_equal(n,
			 PL_BACKUP_HDR_LEN + PL_BACKUP_NONCE_LEN + sizeof img + PL_BACKUP_MAC_LEN);
	assert_memory_equal(f, "PARLEYBK", 8);
	assert_int_equal(pl_backup_open(&out, &outlen, &created, f, n, PASS, strlen(PASS), &e), 0);
	assert_int_equal(outlen, sizeof img);
	assert_memory_equal(out, img, sizeof img);
	assert_int_equal(created, 1767225600);
	free(out);
	/* the image is not in the file in clear */
	assert_null(memmem(f, n, img + 100, 32));
	free(f);
}

static void test_decoder_refusals(void **state)
{
	(void)state;
	uint8_t img[64], *f, *g;
	size_t n;
	pl_backup_hdr h;
	randombytes_buf(img, sizeof img);
	make_file(&f, &n, img, sizeof img, 42);
	assert_int_equal(pl_backup_decode(&h, f, n), 0);
	assert_int_equal(h.created, 42);
	assert_int_equal(h.ctlen, sizeof img + PL_BACKUP_MAC_LEN);
	g = malloc(n);
	struct {
		size_t off;
		uint8_t val;
		const char *what;
	} bad[] = {
	    {0, 'X', "magic"},
	    {7, 'k', "magic, last byte"},
	    {8, 0, "version 0"},
	    {8, 2, "version 2"},
	    {9, 2, "KDF record version"},
	    {10, 2, "KDF algorithm"},
	    {11, 0x80, "KDF opslimit out of range"},
	    {19, 0x80, "KDF memlimit out of range"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memcpy(g, f, n);
		g[bad[i].off] = bad[i].val;
		if (pl_backup_decode(&h, g, n) == 0)
			fail_msg("accepted a backup with a bad %s", bad[i].what);
	}
	memcpy(g, f, n);
	memset(g + PL_BACKUP_MAGIC_LEN + 1 + PL_KDF_REC_LEN, 0, 8);
	assert_int_not_equal(pl_backup_decode(&h, g, n), 0); /* created 0 */
	/* too short: no image byte, or cut inside the header */
	assert_int_not_equal(
	    pl_backup_decode(&h, f, PL_BACKUP_HDR_LEN + PL_BACKUP_NONCE_LEN + PL_BACKUP_MAC_LEN),
	    0);
	assert_int_not_equal(pl_backup_decode(&h, f, PL_BACKUP_HDR_LEN - 1), 0);
	assert_int_not_equal(pl_backup_decode(&h, f, 0), 0);
	assert_int_not_equal(pl_backup_decode(&h, NULL, n), 0);
	/* too long: refused before anything is read */
	assert_int_not_equal(pl_backup_decode(&h, f, PL_BACKUP_FILE_MAX + 1), 0);
	free(g);
	free(f);
}

static void test_tamper_and_passphrase(void **state)
{
	(void)state;
	uint8_t img[96], *f, *out;
	size_t n, outlen;
	pl_err e;
	randombytes_buf(img, sizeof img);
	make_file(&f, &n, img, sizeof img, 1767225600);
	/* every byte: header (AD), nonce, sealed image, MAC */
	for (size_t i = 0; i < n; i++) {
		f[i] ^= 0x01;
		pl_err_clear(&e);
		int rc = pl_backup_open(&out, &outlen, NULL, f, n, PASS, strlen(PASS), &e);
		f[i] ^= 0x01;
		if (rc == 0)
			fail_msg("a backup with byte %zu flipped opened", i);
		assert_null(out);
		assert_true(e.code == PL_EXIT_VAULT || e.code == PL_EXIT_INPUT);
		assert_non_null(strstr(e.msg, "nothing was restored"));
	}
	pl_err_clear(&e);
	assert_int_not_equal(
	    pl_backup_open(&out, &outlen, NULL, f, n, "another passphrase", 18, &e), 0);
	assert_int_equal(e.code, PL_EXIT_VAULT);
	assert_non_null(strstr(e.msg, "wrong passphrase"));
	pl_err_clear(&e);
	assert_int_not_equal(
	    pl_backup_open(&out, &outlen, NULL, img, sizeof img, PASS, strlen(PASS), &e), 0);
	assert_int_equal(e.code, PL_EXIT_INPUT);
	/* a trailing byte is part of the sealed image: it fails the MAC */
	uint8_t *g = malloc(n + 1);
	memcpy(g, f, n);
	g[n] = 0;
	pl_err_clear(&e);
	assert_int_not_equal(pl_backup_open(&out, &outlen, NULL, g, n + 1, PASS, strlen(PASS), &e),
			     0);
	free(g);
	free(f);
}

static void test_install_and_folders(void **state)
{
	(void)state;
	char dir[128], sub[192], tmp[256];
	pl_err e;
	pl_test_tmpdir(dir, sizeof dir, "backup-dirs");
	uint8_t junk[1024];
	memset(junk, 'x', sizeof junk);
	snprintf(sub, sizeof sub, "%s/v", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	pl_err_clear(&e);
	assert_int_not_equal(pl_vault_install_image(sub, junk, sizeof junk, PASS, 1, &e), 0);
	assert_false(pl_vault_exists(sub));
	/* a real vault's image installs, once */
	pl_vault *v = pl_test_vault_new(dir, "orig", "orig", "http://127.0.0.1:1");
	uint8_t *img;
	size_t n;
	pl_err_clear(&e);
	assert_int_equal(pl_vault_backup_image(v, &img, &n, &e), 0);
	pl_vault_close(v);
	assert_int_equal(
	    pl_vault_install_image(sub, img, n, PL_TEST_PASS, strlen(PL_TEST_PASS), &e), 0);
	assert_true(pl_vault_exists(sub));
	pl_err_clear(&e);
	assert_int_not_equal(
	    pl_vault_install_image(sub, img, n, PL_TEST_PASS, strlen(PL_TEST_PASS), &e), 0);
	assert_int_equal(e.code, PL_EXIT_VAULT);
	/* restore_begin: a vault, a non-empty folder, a file are refused */
	char *t = NULL;
	pl_err_clear(&e);
	assert_int_not_equal(pl_vault_restore_begin(sub, &t, &e), 0);
	assert_null(t);
	snprintf(tmp, sizeof tmp, "%s/full", dir);
	assert_int_equal(mkdir(tmp, 0700), 0);
	snprintf(tmp, sizeof tmp, "%s/full/x", dir);
	pl_test_write_file(tmp, "x", 1);
	snprintf(tmp, sizeof tmp, "%s/full", dir);
	assert_int_not_equal(pl_vault_restore_begin(tmp, &t, &e), 0);
	/* an empty folder is taken; the vault appears only at finish */
	snprintf(tmp, sizeof tmp, "%s/empty", dir);
	assert_int_equal(mkdir(tmp, 0700), 0);
	pl_err_clear(&e);
	assert_int_equal(pl_vault_restore_begin(tmp, &t, &e), 0);
	assert_int_equal(pl_vault_install_image(t, img, n, PL_TEST_PASS, strlen(PL_TEST_PASS), &e),
			 0);
	assert_false(pl_vault_exists(tmp));
	assert_int_equal(pl_vault_restore_finish(t, tmp, &e), 0);
	assert_true(pl_vault_exists(tmp));
	free(t);
	sodium_memzero(img, n);
	free(img);
	pl_test_rm_rf(dir);
}

/* ---- through a relay ------------------------------------------------------ */

static struct {
	char dir[128];
	pl_test_relay relay;
	pl_evil *evil; /* a proxy in front of the relay, honest until a test hooks it */
	pl_vault *alice, *bob;
} net;

static int net_setup(void **state)
{
	(void)state;
	char data[160];
	pl_err e;
	pl_err_clear(&e);
	snprintf(net.dir, sizeof net.dir, "/tmp/parley-backup-XXXXXX");
	if (mkdtemp(net.dir) == NULL)
		return -1;
	snprintf(data, sizeof data, "%s/relay", net.dir);
	if (pl_test_relay_start(&net.relay, data, 0, NULL) != 0)
		return 0;
	if ((net.evil = pl_evil_start(net.relay.url)) == NULL) {
		pl_test_relay_stop(&net.relay);
		return 0;
	}
	net.alice = pl_test_vault_new(net.dir, "alice", "alice", pl_evil_url(net.evil));
	net.bob = pl_test_vault_new(net.dir, "bob", "bob", pl_evil_url(net.evil));
	if (pl_msgr_publish(net.alice, &e) != 0 || pl_msgr_publish(net.bob, &e) != 0)
		fail_msg("cannot publish: %s", e.msg);
	pl_test_befriend(net.alice, "bob", net.bob);
	pl_test_befriend(net.bob, "alice", net.alice);
	if (pl_vault_set_u64(net.alice, "ack_delay_max", 0, &e) != 0 ||
	    pl_vault_set_u64(net.bob, "ack_delay_max", 0, &e) != 0)
		fail_msg("%s", e.msg);
	return 0;
}

static int net_teardown(void **state)
{
	(void)state;
	if (net.alice)
		pl_vault_close(net.alice);
	if (net.bob)
		pl_vault_close(net.bob);
	pl_evil_stop(net.evil);
	pl_test_relay_stop(&net.relay);
	if (net.dir[0])
		pl_test_rm_rf(net.dir);
	return 0;
}

static unsigned sessions_with(pl_vault *v, pl_vault *peer)
{
	pl_session_rec *ss;
	size_t n;
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(pl_vault_sessions_load(v, pl_vault_identity(peer)->pk, &ss, &n, &e), 0);
	pl_vault_sessions_free(ss, n);
	return (unsigned)n;
}

static void bob_opens_all(unsigned expect, const char *what)
{
	pl_sync_report r;
	pl_test_sync(net.bob, &r);
	if (r.rejected != 0 || r.received != expect)
		fail_msg("%s: bob received %u (expected %u), rejected %u", what, r.received, expect,
			 r.rejected);
}

static void test_restore_rekeys(void **state)
{
	(void)state;
	if (net.relay.pid == 0)
		skip();
	char path[256], rdir[256], pdir[256];
	pl_err e;
	pl_sync_report r;

	pl_test_send_note(net.alice, "bob", "before the backup");
	bob_opens_all(1, "before the backup");
	pl_test_send_note(net.bob, "alice", "a reply before the backup");
	pl_test_sync(net.alice, &r);
	assert_int_equal(r.received, 1);
	assert_true(sessions_with(net.alice, net.bob) >= 1);
	pl_prekey spk0;
	pl_err_clear(&e);
	assert_int_equal(pl_vault_spk_current(net.alice, &spk0, &e), 0);

	/* the backup, and a raw copy of the same state to put back later */
	snprintf(path, sizeof path, "%s/alice.bak", net.dir);
	uint64_t created = 0;
	size_t imglen = 0, rawlen = 0;
	uint8_t *raw;
	assert_int_equal(pl_vault_backup(net.alice, path, PL_TEST_PASS, strlen(PL_TEST_PASS),
					 PL_VAULT_KDF_TEST_ONLY, &created, &imglen, &e),
			 0);
	assert_int_equal(pl_vault_backup_image(net.alice, &raw, &rawlen, &e), 0);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	pl_err_clear(&e);
	assert_int_not_equal(pl_vault_backup(net.alice, path, PL_TEST_PASS, strlen(PL_TEST_PASS),
					     PL_VAULT_KDF_TEST_ONLY, NULL, NULL, &e),
			     0); /* never replaces */

	/* the old copy goes on: 3 notes out (bob opens them), 2 fetched */
	for (int i = 0; i < 3; i++)
		pl_test_send_note(net.alice, "bob", "the old copy after the backup");
	bob_opens_all(3, "the old copy after the backup");
	pl_test_send_note(net.bob, "alice", "bob after the backup 1");
	pl_test_send_note(net.bob, "alice", "bob after the backup 2");
	pl_test_sync(net.alice, &r);
	assert_int_equal(r.received, 2);
	sleep(1); /* the restore comes after every acknowledgment of the old copy */

	/* the restore */
	size_t flen;
	uint8_t *file = pl_test_read_file(path, &flen);
	assert_non_null(file);
	snprintf(rdir, sizeof rdir, "%s/restored", net.dir);
	pl_copies_report cr;
	memset(&cr, 0, sizeof cr);
	pl_err_clear(&e);
	assert_int_equal(pl_copies_restore(rdir, file, flen, PL_TEST_PASS, strlen(PL_TEST_PASS),
					   &created, &cr, &e),
			 0);
	assert_int_equal(cr.notified, 1);
	assert_true(cr.sessions >= 1);
	pl_err_clear(&e);
	assert_int_not_equal(
	    pl_copies_restore(rdir, file, flen, PL_TEST_PASS, strlen(PL_TEST_PASS), NULL, NULL, &e),
	    0); /* never over a vault */
	free(file);
	pl_vault *rv;
	assert_int_equal(pl_vault_open(&rv, rdir, PL_TEST_PASS, strlen(PL_TEST_PASS), &e), 0);
	assert_int_equal(sessions_with(rv, net.bob), 0);
	pl_prekey spk1;
	assert_int_equal(pl_vault_spk_current(rv, &spk1, &e), 0);
	assert_true(spk1.id >= spk0.id + (1u << 20));
	pl_prekey opks[4];
	assert_int_equal(pl_vault_opk_unpublished(rv, opks, 4, &e), 4);
	assert_true(opks[0].id > (1u << 20));

	/* what the restored vault sends, bob opens: no message key reused */
	pl_test_send_note(rv, "bob", "restored 1");
	pl_test_send_note(rv, "bob", "restored 2");
	pl_test_send_note(rv, "bob", "restored 3");
	bob_opens_all(4, "after the restore (3 notes and the notice)");
	pl_item *items;
	size_t n;
	assert_int_equal(pl_vault_item_list(net.bob, "alice", &items, &n, &e), 0);
	int notice = 0;
	for (size_t i = 0; i < n; i++)
		if (items[i].kind == PL_KIND_RESTORED && items[i].dir == PL_DIR_IN) {
			assert_int_equal(items[i].body.n, PL_RESTORED_LEN);
			assert_int_equal(items[i].body.p[0], PL_RESTORED_BACKUP);
			assert_int_equal(pl_be64_get(items[i].body.p + 1), created);
			notice++;
		}
	pl_vault_items_free(items, n);
	assert_int_equal(notice, 1);

	/* the missing ones: acknowledged by another copy, not withheld */
	pl_test_sync(rv, &r);
	assert_true(r.other_copy >= 2);
	assert_int_equal(r.withheld, 0);
	assert_int_equal(r.copy_reacted, 0);
	pl_evidence *ev;
	size_t nev;
	assert_int_equal(pl_vault_evidence_list(rv, &ev, &nev, &e), 0);
	pl_vault_evidence_free(ev, nev);
	assert_int_equal(nev, 0);
	pl_test_send_note(net.bob, "alice", "to the restored vault");
	pl_test_sync(rv, &r);
	assert_int_equal(r.received, 1);
	assert_int_equal(r.rejected, 0);

	/* The relay cannot hide behind the other copy: one envelope it
	 * withholds from the restored vault now, which no ack of ours names, is
	 * still caught and kept as evidence. */
	uint64_t next = pl_vault_get_u64(rv, "last_seq", 0) + 1;
	pl_test_send_note(net.bob, "alice", "withheld by the relay");
	pl_evil_listing_arg la = {.seq = next, .drop = 1, .hits = 0};
	uint8_t mbx[32];
	char hex[65], pfx[96];
	pl_mailbox_id(mbx, pl_vault_identity(rv)->pk);
	pl_hex_encode(hex, mbx, 32);
	snprintf(pfx, sizeof pfx, "/v1/mailbox/%s", hex);
	pl_evil_hook(net.evil, pfx, pl_evil_listing_replace, &la);
	memset(&r, 0, sizeof r);
	pl_err_clear(&e);
	int src = pl_msgr_sync(rv, NULL, &r, &e);
	pl_evil_clear(net.evil);
	(void)src; /* the CLI turns a withheld envelope into exit 5 */
	assert_true(la.hits >= 1);
	assert_int_equal(r.withheld, 1);
	assert_int_equal(r.other_copy, 0);
	assert_int_equal(pl_vault_evidence_list(rv, &ev, &nev, &e), 0);
	pl_vault_evidence_free(ev, nev);
	assert_int_equal(nev, 1);

	/* a raw copy put back: caught at its first delivery, re-keys first */
	snprintf(pdir, sizeof pdir, "%s/putback", net.dir);
	assert_int_equal(mkdir(pdir, 0700), 0);
	assert_int_equal(
	    pl_vault_install_image(pdir, raw, rawlen, PL_TEST_PASS, strlen(PL_TEST_PASS), &e), 0);
	sodium_memzero(raw, rawlen);
	free(raw);
	pl_vault *pv;
	assert_int_equal(pl_vault_open(&pv, pdir, PL_TEST_PASS, strlen(PL_TEST_PASS), &e), 0);
	assert_true(sessions_with(pv, net.bob) >= 1);
	uint8_t id[8];
	int64_t seq;
	assert_int_equal(
	    pl_msgr_queue(pv, "bob", PL_KIND_NOTE, (const uint8_t *)"put back", 8, id, &seq, &e),
	    0);
	memset(&r, 0, sizeof r);
	if (pl_msgr_deliver(pv, &r, &e) != 0)
		fail_msg("deliver from the put-back copy: %s", e.msg);
	assert_int_equal(r.copy_reacted, 1);
	assert_int_equal(r.copy_notified, 1);
	bob_opens_all(2, "from the put-back copy (the note and the notice)");
	pl_vault_close(pv);
	pl_vault_close(rv);
}

int main(int argc, char **argv)
{
	(void)argc;
	if (sodium_init() < 0)
		return 1;
	pl_test_relay_bin(argv[0]);
	const struct CMUnitTest format[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_decoder_refusals),
	    cmocka_unit_test(test_tamper_and_passphrase),
	    cmocka_unit_test(test_install_and_folders),
	};
	const struct CMUnitTest relays[] = {
	    cmocka_unit_test(test_restore_rekeys),
	};
	int rc = cmocka_run_group_tests(format, NULL, NULL);
	rc |= cmocka_run_group_tests(relays, net_setup, net_teardown);
	return rc;
}
