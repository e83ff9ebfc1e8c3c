/*
 * Copyright (c) 2026 The PeerVault developers
 *
 * Permission to use, copy, modify, and distribute this software for any
 * purpose with or without fee is hereby granted, provided that the above
 * copyright notice and this permission notice appear in all copies.
 *
 * THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
 * WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
 * MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
 * ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
 * WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
 * ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
 * OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
 */

/*
 * Key handling: the key file formats and the derived keys.  The expected
 * keys were computed independently with OpenSSL's command line:
 *   openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt hexkey:KEY
 *       -kdfopt "salt:peervault v1" -kdfopt "info:LABEL" HKDF
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "pvd.h"

#define TEST_KEY_HEX \
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static void
test_key(uint8_t *key)
{
	ck_assert_int_eq(hex_decode(TEST_KEY_HEX, key, PVD_KEY_LEN), 0);
}

static void
assert_hex(const uint8_t *got, size_t len, const char *want)
{
	char	hex[2 * PVD_KEY_LEN + 1];

	hex_encode(got, len, hex, sizeof(hex));
	ck_assert_str_eq(hex, want);
}

START_TEST(test_derive_storage)
{
	uint8_t			key[PVD_KEY_LEN];
	struct pv_keys_storage	ks;

	test_key(key);
	ck_assert_int_eq(key_derive_storage(key, &ks), 0);
	assert_hex(ks.blob_key, sizeof(ks.blob_key),
	    "e557135ebbd82f44c99a1b2c80767c038c82f954102fbab4af251c7fc41959b7");
	assert_hex(ks.name_key, sizeof(ks.name_key),
	    "bb88d20ebfbcfad472f38519c1d585862994334bdf94d812f3dd2779d5d1851a");
}
END_TEST

START_TEST(test_derive_net)
{
	uint8_t			key[PVD_KEY_LEN];
	struct pv_keys_net	kn;

	test_key(key);
	ck_assert_int_eq(key_derive_net(key, &kn), 0);
	assert_hex(kn.psk, sizeof(kn.psk),
	    "f9f9060fc048a7217478548370fd93e4d1eb71b15356ba7b68e75f95aa943736");
}
END_TEST

START_TEST(test_derive_distinct)
{
	uint8_t			a[PVD_KEY_LEN], b[PVD_KEY_LEN];
	struct pv_keys_storage	ka, kb;

	test_key(a);
	memcpy(b, a, sizeof(b));
	b[31] ^= 1;
	ck_assert_int_eq(key_derive_storage(a, &ka), 0);
	ck_assert_int_eq(key_derive_storage(b, &kb), 0);
	ck_assert_mem_ne(ka.blob_key, kb.blob_key, PVD_KEY_LEN);
	ck_assert_mem_ne(ka.blob_key, ka.name_key, PVD_KEY_LEN);
}
END_TEST

START_TEST(test_key_parse_formats)
{
	uint8_t	want[PVD_KEY_LEN], got[PVD_KEY_LEN];
	char	buf[128];

	test_key(want);

	/* raw bytes */
	ck_assert_int_eq(key_parse(want, sizeof(want), got), 0);
	ck_assert_mem_eq(got, want, PVD_KEY_LEN);

	/* hex, with and without a newline, either case */
	memset(got, 0, sizeof(got));
	ck_assert_int_eq(key_parse((const uint8_t *)TEST_KEY_HEX,
	    strlen(TEST_KEY_HEX), got), 0);
	ck_assert_mem_eq(got, want, PVD_KEY_LEN);
	snprintf(buf, sizeof(buf), "%s\n", TEST_KEY_HEX);
	memset(got, 0, sizeof(got));
	ck_assert_int_eq(key_parse((const uint8_t *)buf, strlen(buf), got), 0);
	ck_assert_mem_eq(got, want, PVD_KEY_LEN);
	snprintf(buf, sizeof(buf), "%s \r\n", "000102030405060708090A0B0C0D0E0F"
	    "101112131415161718191A1B1C1D1E1F");
	memset(got, 0, sizeof(got));
	ck_assert_int_eq(key_parse((const uint8_t *)buf, strlen(buf), got), 0);
	ck_assert_mem_eq(got, want, PVD_KEY_LEN);
}
END_TEST

START_TEST(test_key_parse_malformed)
{
	uint8_t		 got[PVD_KEY_LEN];
	const char	*bad[] = {
		"",
		"00",
		/* 63 digits */
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1",
		/* a non-hex digit */
		"g00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		/* trailing garbage */
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1fxx",
		/* 66 digits */
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f00",
	};
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(key_parse((const uint8_t *)bad[i],
		    strlen(bad[i]), got) == -1, "accepted \"%s\"", bad[i]);
	/* 31 and 33 raw bytes */
	ck_assert_int_eq(key_parse((const uint8_t *)TEST_KEY_HEX, 31, got), -1);
	ck_assert_int_eq(key_parse((const uint8_t *)TEST_KEY_HEX, 33, got), -1);
}
END_TEST

START_TEST(test_hex_roundtrip)
{
	uint8_t	in[PVD_NODEID_LEN], out[PVD_NODEID_LEN];
	char	hex[PVD_NODEID_HEXLEN], small[5];
	size_t	i;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 37 + 11);
	hex_encode(in, sizeof(in), hex, sizeof(hex));
	ck_assert_uint_eq(strlen(hex), 2 * sizeof(in));
	ck_assert_int_eq(hex_decode(hex, out, sizeof(out)), 0);
	ck_assert_mem_eq(in, out, sizeof(in));

	/* the output is truncated to whole bytes and always terminated */
	hex_encode(in, sizeof(in), small, sizeof(small));
	ck_assert_str_eq(small, "0b30");
	/* wrong length */
	ck_assert_int_eq(hex_decode("0b30", out, sizeof(out)), -1);
}
END_TEST

static Suite *
crypto_suite(void)
{
	Suite	*s = suite_create("crypto");
	TCase	*tc = tcase_create("keys");

	tcase_add_test(tc, test_derive_storage);
	tcase_add_test(tc, test_derive_net);
	tcase_add_test(tc, test_derive_distinct);
	tcase_add_test(tc, test_key_parse_formats);
	tcase_add_test(tc, test_key_parse_malformed);
	tcase_add_test(tc, test_hex_roundtrip);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr = srunner_create(crypto_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
