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
 * Key handling shared by pvd and the tests: parsing a network key file's
 * contents and deriving the per-purpose keys with HKDF-SHA-256.  Each
 * purpose has its own label, so no two derived keys are related.
 */

#include <sys/types.h>

#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "pvd.h"

#define KDF_SALT		"peervault v1"
#define LABEL_BLOB_KEY		"peervault blob encryption"
#define LABEL_NAME_KEY		"peervault blob naming"
#define LABEL_TRANSPORT_PSK	"peervault transport psk"

/* HKDF-SHA-256(salt "peervault v1", ikm = network key, info = label). */
int
key_derive(const uint8_t *netkey, const char *label, uint8_t *out,
    size_t outlen)
{
	EVP_KDF		*kdf;
	EVP_KDF_CTX	*kctx;
	OSSL_PARAM	 params[5], *p = params;
	int		 ret = -1;

	if ((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) == NULL)
		return (-1);
	kctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (kctx == NULL)
		return (-1);

	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)netkey, PVD_KEY_LEN);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)KDF_SALT, strlen(KDF_SALT));
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
	    (void *)label, strlen(label));
	*p = OSSL_PARAM_construct_end();

	if (EVP_KDF_derive(kctx, out, outlen, params) == 1)
		ret = 0;
	EVP_KDF_CTX_free(kctx);
	return (ret);
}

int
key_derive_storage(const uint8_t *netkey, struct pv_keys_storage *ks)
{
	if (key_derive(netkey, LABEL_BLOB_KEY, ks->blob_key,
	    sizeof(ks->blob_key)) == -1 ||
	    key_derive(netkey, LABEL_NAME_KEY, ks->name_key,
	    sizeof(ks->name_key)) == -1) {
		explicit_bzero(ks, sizeof(*ks));
		return (-1);
	}
	return (0);
}

int
key_derive_net(const uint8_t *netkey, struct pv_keys_net *kn)
{
	if (key_derive(netkey, LABEL_TRANSPORT_PSK, kn->psk,
	    sizeof(kn->psk)) == -1) {
		explicit_bzero(kn, sizeof(*kn));
		return (-1);
	}
	return (0);
}

/*
 * A key file holds the 32 key bytes raw, or as 64 hex digits optionally
 * followed by white space.  Anything else is refused.
 */
int
key_parse(const uint8_t *buf, size_t len, uint8_t *key)
{
	char	hex[PVD_KEY_LEN * 2 + 1];
	size_t	i;
	int	ret;

	if (len == PVD_KEY_LEN) {
		memcpy(key, buf, PVD_KEY_LEN);
		return (0);
	}
	if (len < PVD_KEY_LEN * 2)
		return (-1);
	for (i = PVD_KEY_LEN * 2; i < len; i++)
		if (!isspace(buf[i]))
			return (-1);
	memcpy(hex, buf, PVD_KEY_LEN * 2);
	hex[PVD_KEY_LEN * 2] = '\0';
	ret = hex_decode(hex, key, PVD_KEY_LEN);
	explicit_bzero(hex, sizeof(hex));
	return (ret);
}

void
hex_encode(const uint8_t *in, size_t inlen, char *out, size_t outlen)
{
	static const char	digits[] = "0123456789abcdef";
	size_t			i;

	if (outlen == 0)
		return;
	for (i = 0; i < inlen && 2 * i + 2 < outlen; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * i] = '\0';
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/* Exactly 2 * outlen hex digits, nothing else. */
int
hex_decode(const char *in, uint8_t *out, size_t outlen)
{
	size_t	i;
	int	hi, lo;

	if (strlen(in) != outlen * 2)
		return (-1);
	for (i = 0; i < outlen; i++) {
		if ((hi = hex_digit(in[2 * i])) == -1 ||
		    (lo = hex_digit(in[2 * i + 1])) == -1)
			return (-1);
		out[i] = (hi << 4) | lo;
	}
	return (0);
}
