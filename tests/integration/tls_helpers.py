"""Certificates for the TLS tests, made with the openssl CLI in a tmp dir.

make_certs(d) gives a CA and, signed by it, two server certificates (for
127.0.0.1 and localhost) and a client certificate; and a second CA with a
certificate of its own, which a server trusting only the first CA must
refuse (and the other way round). signed_cert(..., days=0) makes one that
expires the second it is made.
"""

import subprocess


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_ca(d, name, cn):
    openssl("req", "-x509", "-new", "-nodes", "-newkey", "rsa:2048", "-keyout", name + ".key",
            "-out", name + ".crt", "-days", "2", "-subj", "/CN=" + cn, cwd=d)
    return str(d / (name + ".crt"))


def signed_cert(d, name, cn, ca="ca", ext=None, days=2):
    openssl("req", "-new", "-nodes", "-newkey", "rsa:2048", "-keyout", name + ".key",
            "-out", name + ".csr", "-subj", "/CN=" + cn, cwd=d)
    args = ["x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt", "-CAkey", ca + ".key",
            "-CAcreateserial", "-out", name + ".crt", "-days", str(days)]
    if ext:
        (d / (name + ".ext")).write_text(ext)
        args += ["-extfile", name + ".ext"]
    openssl(*args, cwd=d)
    return str(d / (name + ".crt")), str(d / (name + ".key"))


def make_certs(d):
    san = "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
    c = {"dir": d, "ca": make_ca(d, "ca", "Ringmaster Test CA")}
    c["cert"], c["key"] = signed_cert(d, "server", "server-one", ext=san)
    c["cert2"], c["key2"] = signed_cert(d, "server2", "server-two", ext=san)
    c["client_cert"], c["client_key"] = signed_cert(d, "client", "client")
    c["other_ca"] = make_ca(d, "other-ca", "Some Other CA")
    c["other_cert"], c["other_key"] = signed_cert(d, "other", "other-server", ca="other-ca",
                                                  ext=san)
    return c
