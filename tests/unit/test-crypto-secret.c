/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-crypto-secret.c: the secret object: inline and file values, raw
 * and base64, AES-256-CBC decryption with another secret's key (the way
 * libvirt passes secrets), and the errors.
 */
#include "qemu/osdep.h"
#include "crypto/init.h"
#include "crypto/secret.h"
#include "qom/object.h"

/* Key 00 01 .. 1f, IV 0f 0e .. 00; the ciphertext of "tern secret value"
 * (PKCS#7 padded) made with: openssl enc -aes-256-cbc -K 0001..1f
 * -iv 0f0e..00 | base64 */
#define KEY_B64 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define IV_B64 "Dw4NDAsKCQgHBgUEAwIBAA=="
#define CIPHER_B64 "VHdokM6aZGGPBVet1/2OXyMsHxezDZo2qKsFJ/yCw64="

static char *secret_value(const char *id)
{
    return qcrypto_secret_lookup_as_utf8(id, &error_abort);
}

/* Create -object style; the error text (g_free) or NULL. */
static char *secret_try(const char *opts)
{
    Error *err = NULL;
    char *msg;

    if (user_creatable_add_cmdline(opts, &err)) {
        return NULL;
    }
    msg = g_strdup(error_get_pretty(err));
    error_free(err);
    return msg;
}

static void test_plain(void)
{
    g_autofree char *path = NULL;
    g_autofree char *v1 = NULL, *v2 = NULL, *v3 = NULL, *opts = NULL;
    int fd = g_file_open_tmp("tern-secret-XXXXXX", &path, NULL);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(write(fd, "from a file", 11), ==, 11);
    close(fd);
    g_assert_null(secret_try("secret,id=p1,data=hello"));
    g_assert_null(secret_try("secret,id=p2,data=aGVsbG8=,format=base64"));
    opts = g_strdup_printf("secret,id=p3,file=%s", path);
    g_assert_null(secret_try(opts));
    v1 = secret_value("p1");
    v2 = secret_value("p2");
    v3 = secret_value("p3");
    g_assert_cmpstr(v1, ==, "hello");
    g_assert_cmpstr(v2, ==, "hello");
    g_assert_cmpstr(v3, ==, "from a file");
    unlink(path);
}

static void test_encrypted(void)
{
    g_autofree char *v = NULL;
    uint8_t *key;
    size_t len;

    g_assert_null(secret_try("secret,id=master,format=base64,data=" KEY_B64));
    g_assert_true(qcrypto_secret_lookup("master", &key, &len, &error_abort));
    g_assert_cmpuint(len, ==, 32);
    g_assert_cmpint(key[31], ==, 0x1f);
    g_free(key);
    g_assert_null(secret_try("secret,id=enc,keyid=master,iv=" IV_B64
                             ",format=base64,data=" CIPHER_B64));
    v = secret_value("enc");
    g_assert_cmpstr(v, ==, "tern secret value");
}

static void test_errors(void)
{
    static const struct {
        const char *opts;
        const char *error;
    } cases[] = {
        {"secret,id=e1", "Either 'data' or 'file' must be provided"},
        {"secret,id=e2,data=a,file=/x", "mutually exclusive"},
        {"secret,id=e3,data=a,format=hex", "does not accept value 'hex'"},
        {"secret,id=e4,data=a,file=", "mutually exclusive"},
        {"secret,id=e5,file=/nonexistent/x", "Unable to read /nonexistent/x"},
        {"secret,id=e6,data=!!!,format=base64", "invalid base64"},
        {"secret,id=e7,data=" CIPHER_B64 ",keyid=nope,iv=" IV_B64,
         "No secret with id 'nope'"},
        {"secret,id=e8,data=" CIPHER_B64 ",keyid=p1,iv=" IV_B64,
         "has length 5, expected 32"},
        {"secret,id=e9,data=" CIPHER_B64 ",keyid=master", "IV is required"},
        {"secret,id=e10,data=" CIPHER_B64 ",keyid=master,iv=AAAA",
         "IV has length 3, expected 16"},
        {"secret,id=e11,data=AAAA,keyid=master,iv=" IV_B64,
         "not a whole number of blocks"},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *err = secret_try(cases[i].opts);

        if (!err || !strstr(err, cases[i].error)) {
            g_error("%s: got %s, want ...%s...", cases[i].opts,
                    err ? err : "success", cases[i].error);
        }
    }
    {
        Error *err = NULL;

        g_assert_null(qcrypto_secret_lookup_as_utf8("nosuch", &err));
        g_assert_nonnull(err);
        error_free(err);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    crypto_register_types();
    g_test_add_func("/crypto/secret/plain", test_plain);
    g_test_add_func("/crypto/secret/encrypted", test_encrypted);
    g_test_add_func("/crypto/secret/errors", test_errors);
    return g_test_run();
}
