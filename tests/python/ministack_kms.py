"""Sets up keys and users in a ministack (local AWS emulator) for the awskms: signer tests.

    ministack_kms.py ENDPOINT REGION setup
        Creates, with the emulator's root credentials:
          - KMS keys: ed25519 (ECC_NIST_EDWARDS25519), p256 (ECC_NIST_P256), p384 (ECC_NIST_P384),
            rsa (RSA_2048), all SIGN_VERIFY; aes (SYMMETRIC_DEFAULT) and rsa-encrypt (RSA_2048),
            both ENCRYPT_DECRYPT;
            aliases alias/tufmirror-ed25519 and alias/tufmirror-p256;
          - IAM users: "signer" (kms:GetPublicKey and kms:Sign) and "reader" (kms:GetPublicKey
            only), each with an access key.
        Prints {"keys": {NAME: {"id", "arn"}}, "users": {NAME: {"access_key_id",
        "secret_access_key"}}} as JSON.

    ministack_kms.py ENDPOINT REGION update-alias ALIAS KEY-ID
        Points ALIAS at another key.

Talks only to ENDPOINT (a loopback address in the tests), with botocore, ministack's own
dependency. Exit status 0 on success; anything else is a failed setup, with the reason on stderr.
"""

import json
import sys

import botocore.session
from botocore.config import Config

ROOT = ("test", "test")  # ministack's root credentials (never checked)


def client(service, endpoint, region):
    session = botocore.session.get_session()
    return session.create_client(
        service,
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id=ROOT[0],
        aws_secret_access_key=ROOT[1],
        config=Config(retries={"max_attempts": 1}, proxies={}),
    )


def setup(endpoint, region):
    kms = client("kms", endpoint, region)
    keys = {}
    for name, spec, usage in [
        ("ed25519", "ECC_NIST_EDWARDS25519", "SIGN_VERIFY"),
        ("p256", "ECC_NIST_P256", "SIGN_VERIFY"),
        ("p384", "ECC_NIST_P384", "SIGN_VERIFY"),
        ("rsa", "RSA_2048", "SIGN_VERIFY"),
        ("aes", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"),
        ("rsa-encrypt", "RSA_2048", "ENCRYPT_DECRYPT"),
    ]:
        meta = kms.create_key(KeySpec=spec, KeyUsage=usage, Description=f"tufmirror test {name}")["KeyMetadata"]
        keys[name] = {"id": meta["KeyId"], "arn": meta["Arn"]}
    for name in ["ed25519", "p256"]:
        kms.create_alias(AliasName=f"alias/tufmirror-{name}", TargetKeyId=keys[name]["id"])

    iam = client("iam", endpoint, region)
    users = {}
    for name, actions in [("signer", ["kms:GetPublicKey", "kms:Sign"]), ("reader", ["kms:GetPublicKey"])]:
        iam.create_user(UserName=name)
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
        iam.put_user_policy(UserName=name, PolicyName="kms", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        users[name] = {"access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]}
    print(json.dumps({"keys": keys, "users": users}))


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    endpoint, region, command = argv[1], argv[2], argv[3]
    if command == "setup" and len(argv) == 4:
        setup(endpoint, region)
    elif command == "update-alias" and len(argv) == 6:
        client("kms", endpoint, region).update_alias(AliasName=argv[4], TargetKeyId=argv[5])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
