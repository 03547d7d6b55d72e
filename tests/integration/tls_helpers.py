"""Certificates for the TLS tests, made with the openssl CLI in a tmp dir.

make_certs(d) gives a CA and, signed by it, two server certificates (for
127.0.0.1 and localhost) and a client certificate; and a second CA with a
certificate of its own, which a server trusting only the first CA must
refuse (and the other way round). signed_cert(..., days=0) makes one that
expires the second it is made. tls_node starts a server (redis-server or
Ringmaster) with a tls-port and tls-replication on; tls_replica one that
replicates from such a master's tls-port.
"""

import subprocess

from rmtest import free_port


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


def tls_node(servers, kind, certs, *extra, name, cert="cert", ca="ca", auth="yes", env=None):
    """A redis-server or Ringmaster with a tls-port (and its plain port)
    and tls-replication on, presenting certs[cert] and trusting certs[ca]."""
    tls_port = free_port()
    args = ["--tls-port", tls_port, "--tls-cert-file", certs[cert],
            "--tls-key-file", certs[cert.replace("cert", "key")], "--tls-ca-cert-file", certs[ca],
            "--tls-auth-clients", auth, "--tls-replication", "yes", "--save", "",
            "--repl-timeout", "60"] + list(extra)
    node = getattr(servers, kind)(*args, name=name, env=env)
    node.tls_port = tls_port
    return node


def tls_replica(servers, kind, certs, master, *extra, name="replica", **kw):
    return tls_node(servers, kind, certs, "--replicaof", "127.0.0.1", master.tls_port, *extra,
                    name=name, **kw)
