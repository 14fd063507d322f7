"""``goflex pki init|issue|revoke|crl``: the installation's private CA (DESIGN.md 5.2).

Never prints or logs a private key; ``issue`` reports the file paths only.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from goflex.pki import CertificateAuthority, CertificateKind


def register(sub: Any) -> None:
    """Add the ``pki`` command group to the top-level sub-parsers."""
    pki = sub.add_parser("pki", help="private certificate authority: init, issue, revoke")
    commands = pki.add_subparsers(dest="pki_command", metavar="PKI_COMMAND", required=True)

    init = commands.add_parser("init", help="create the CA (ca.crt, ca.key, crl.pem)")
    init.add_argument("--dir", required=True, help="CA directory (created if missing)")
    init.add_argument("--name", default="goflex private CA", help="the CA's Common Name")
    init.set_defaults(handler=_init)

    issue = commands.add_parser("issue", help="issue NAME.crt + NAME.key signed by the CA")
    issue.add_argument("name", metavar="NAME", help="identity: endpoint, service, application or server name")
    issue.add_argument("--dir", required=True, help="CA directory")
    issue.add_argument("--kind", default="endpoint", choices=[k.value for k in CertificateKind])
    issue.add_argument("--days", type=int, default=397, help="validity [days] (default 397)")
    issue.add_argument("--san", action="append", default=[], help="server only: extra DNS name or IP (repeatable)")
    issue.add_argument("--renew", action="store_true", help="issue a successor while the current one is valid")
    issue.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    issue.set_defaults(handler=_issue)

    revoke = commands.add_parser("revoke", help="revoke NAME's certificates and rewrite the CRL")
    revoke.add_argument("name", metavar="NAME")
    revoke.add_argument("--dir", required=True, help="CA directory")
    revoke.set_defaults(handler=_revoke)

    crl = commands.add_parser("crl", help="re-sign the CRL with a fresh nextUpdate")
    crl.add_argument("--dir", required=True, help="CA directory")
    crl.set_defaults(handler=_crl)


def _init(args: argparse.Namespace) -> int:
    ca = CertificateAuthority.init(args.dir, common_name=args.name)
    print(f"created CA in {ca.directory}: {ca.ca_cert_path.name}, ca.key (0600), {ca.crl_path.name}", file=sys.stderr)
    return 0


def _issue(args: argparse.Namespace) -> int:
    ca = CertificateAuthority.load(args.dir)
    issued = ca.issue(args.name, args.kind, days=args.days, sans=args.san, renew=args.renew)
    if args.json:
        doc = {
            "name": issued.name,
            "kind": issued.kind.value,
            "cert": str(issued.cert_path),
            "key": str(issued.key_path),
            "serial": f"{issued.serial:x}",
            "not_after": issued.not_after.isoformat(),
        }
        print(json.dumps(doc))
    print(
        f"issued {issued.kind} certificate {issued.cert_path} (key {issued.key_path}, mode 0600), "
        f"serial {issued.serial:x}, valid until {issued.not_after.isoformat()}",
        file=sys.stderr,
    )
    return 0


def _revoke(args: argparse.Namespace) -> int:
    ca = CertificateAuthority.load(args.dir)
    serial = ca.revoke(args.name)
    print(
        f"revoked {args.name!r} (serial {serial:x}); CRL rewritten: {ca.crl_path}. A running broker must reload it "
        "and disconnect the open session: see 'goflex broker revoke'.",
        file=sys.stderr,
    )
    return 0


def _crl(args: argparse.Namespace) -> int:
    path = CertificateAuthority.load(args.dir).refresh_crl()
    print(f"CRL re-signed: {path}", file=sys.stderr)
    return 0
