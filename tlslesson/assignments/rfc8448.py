"""Values from RFC 8448 §3 ("Simple 1-RTT Handshake"), the trace assignment 05 is checked against.

RFC 8448, "Example Handshake Traces for TLS 1.3" (M. Thomson, January 2019),
https://www.rfc-editor.org/rfc/rfc8448 — section 3 prints every private key, message, secret, key
and IV of one handshake (x25519, TLS_AES_128_GCM_SHA256). Each value below was copied from the RFC
text (by a script reading the hex blocks, with the octet counts the RFC states checked) and says
where it stands: section, page, the step header (``{client}``/``{server}`` ...) and the label.
tests/test_assignments.py re-derives every secret from the ones before it with ``tlslesson.tls13``,
so a mis-copied byte cannot go unnoticed.

    >>> from tlslesson.assignments import rfc8448
    >>> rfc8448.value("server_handshake_iv").hex()
    '5d313eb2671276ee13000b30'
    >>> rfc8448.source("server_handshake_iv")
    'section 3, page 7: {server} derive write traffic keys for handshake data: "iv expanded"'
"""
from __future__ import annotations

# name -> (hex, where in RFC 8448 it is printed)
VALUES: dict[str, tuple[str, str]] = {
    "client_private_key": (
        "49af42ba7f7994852d713ef2784bcbcaa7911de26adc5642cb634540e7ea5005",
        'section 3, page 3: {client} create an ephemeral x25519 key pair: "private key"'),
    "client_public_key": (
        "99381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c",
        'section 3, page 3: {client} create an ephemeral x25519 key pair: "public key"'),
    "client_hello": (
        "010000c00303cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef"
        "6283024dece7000006130113031302010000910000000b000900000673657276"
        "6572ff01000100000a00140012001d0017001800190100010101020103010400"
        "230000003300260024001d002099381de560e4bd43d23d8e435a7dbafeb3c06e"
        "51c13cae4d5413691e529aaf2c002b0003020304000d0020001e040305030603"
        "020308040805080604010501060102010402050206020202002d00020101001c"
        "00024001",
        'section 3, page 4: {client} construct a ClientHello handshake message: "ClientHello"'),
    "server_private_key": (
        "b1580eeadf6dd589b8ef4f2d5652578cc810e9980191ec8d058308cea216a21e",
        'section 3, page 5: {server} create an ephemeral x25519 key pair: "private key"'),
    "server_public_key": (
        "c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f",
        'section 3, page 5: {server} create an ephemeral x25519 key pair: "public key"'),
    "server_hello": (
        "020000560303a6af06a4121860dc5e6e60249cd34c95930c8ac5cb1434dac155"
        "772ed3e2692800130100002e00330024001d0020c9828876112095fe66762bdb"
        "f7c672e156d6cc253b833df1dd69b1b04e751f0f002b00020304",
        'section 3, page 5: {server} construct a ServerHello handshake message: "ServerHello"'),
    "early_secret": (
        "33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a",
        'section 3, page 4: {server} extract secret "early": "secret"'),
    "empty_hash": (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        'section 3, page 5: {server} derive secret for handshake "tls13 derived": "hash"'),
    "derived_info": (
        "00200d746c733133206465726976656420e3b0c44298fc1c149afbf4c8996fb9"
        "2427ae41e4649b934ca495991b7852b855",
        'section 3, page 5: {server} derive secret for handshake "tls13 derived": "info"'),
    "derived_for_handshake": (
        "6f2615a108c702c5678f54fc9dbab69716c076189c48250cebeac3576c3611ba",
        'section 3, page 5: {server} derive secret for handshake "tls13 derived": "expanded"'),
    "shared_secret": (
        "8bd4054fb55b9d63fdfbacf9f04b9f0d35e6d63f537563efd46272900f89492d",
        'section 3, page 5: {server} extract secret "handshake": "IKM"'),
    "handshake_secret": (
        "1dc826e93606aa6fdc0aadc12f741b01046aa6b99f691ed221a9f0ca043fbeac",
        'section 3, page 5: {server} extract secret "handshake": "secret"'),
    "hello_hash": (
        "860c06edc07858ee8e78f0e7428c58edd6b43f2ca3e6e95f02ed063cf0e1cad8",
        'section 3, page 6: {server} derive secret "tls13 c hs traffic": "hash"'),
    "c_hs_traffic_info": (
        "002012746c7331332063206873207472616666696320860c06edc07858ee8e78"
        "f0e7428c58edd6b43f2ca3e6e95f02ed063cf0e1cad8",
        'section 3, page 6: {server} derive secret "tls13 c hs traffic": "info"'),
    "client_handshake_traffic_secret": (
        "b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21",
        'section 3, page 6: {server} derive secret "tls13 c hs traffic": "expanded"'),
    "s_hs_traffic_info": (
        "002012746c7331332073206873207472616666696320860c06edc07858ee8e78"
        "f0e7428c58edd6b43f2ca3e6e95f02ed063cf0e1cad8",
        'section 3, page 6: {server} derive secret "tls13 s hs traffic": "info"'),
    "server_handshake_traffic_secret": (
        "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38",
        'section 3, page 6: {server} derive secret "tls13 s hs traffic": "expanded"'),
    "derived_for_master": (
        "43de77e0c77713859a944db9db2590b53190a65b3ee2e4f12dd7a0bb7ce254b4",
        'section 3, page 6: {server} derive secret for master "tls13 derived": "expanded"'),
    "master_secret": (
        "18df06843d13a08bf2a449844c5f8a478001bc4d4c627984d5a41da8d0402919",
        'section 3, page 7: {server} extract secret "master": "secret"'),
    "key_info": (
        "001009746c733133206b657900",
        'section 3, page 7: {server} derive write traffic keys for handshake data: "key info"'),
    "iv_info": (
        "000c08746c73313320697600",
        'section 3, page 7: {server} derive write traffic keys for handshake data: "iv info"'),
    "server_handshake_key": (
        "3fce516009c21727d0f2e4e86ee403bc",
        'section 3, page 7: {server} derive write traffic keys for handshake data: "key expanded"'),
    "server_handshake_iv": (
        "5d313eb2671276ee13000b30",
        'section 3, page 7: {server} derive write traffic keys for handshake data: "iv expanded"'),
    "client_handshake_key": (
        "dbfaa693d1762c5b666af5d950258d01",
        'section 3, page 11: {server} derive read traffic keys for handshake data: "key expanded"'),
    "client_handshake_iv": (
        "5bd3c71b836e0b76bb73265f",
        'section 3, page 11: {server} derive read traffic keys for handshake data: "iv expanded"'),
    "server_finished_hash": (
        "9608102a0f1ccc6db6250b7b7e417b1a000eaada3daae4777a7686c9ff83df13",
        'section 3, page 10: {server} derive secret "tls13 c ap traffic": "hash"'),
    "client_application_traffic_secret_0": (
        "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5",
        'section 3, page 10: {server} derive secret "tls13 c ap traffic": "expanded"'),
    "server_application_traffic_secret_0": (
        "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643",
        'section 3, page 11: {server} derive secret "tls13 s ap traffic": "expanded"'),
    "server_application_key": (
        "9f02283b6c9c07efc26bb9f2ac92e356",
        'section 3, page 11: {server} derive write traffic keys for application data: '
        '"key expanded"'),
    "server_application_iv": (
        "cf782b88dd83549aadf1e984",
        'section 3, page 11: {server} derive write traffic keys for application data: '
        '"iv expanded"'),
    "client_application_key": (
        "17422dda596ed5d9acd890e3c63f5051",
        'section 3, page 13: {client} derive write traffic keys for application data: '
        '"key expanded"'),
    "client_application_iv": (
        "5b78923dee08579033e523d9",
        'section 3, page 13: {client} derive write traffic keys for application data: '
        '"iv expanded"'),
    "finished_info": (
        "00200e746c7331332066696e697368656400",
        'section 3, page 13: {client} calculate finished "tls13 finished": "info"'),
    "client_finished_key": (
        "b80ad01015fb2f0bd65ff7d4da5d6bf83f84821d1f87fdc7d3c75b5a7b42d9c4",
        'section 3, page 13: {client} calculate finished "tls13 finished": "expanded"'),
}


def value(name: str) -> bytes:
    """The bytes of one value, e.g. ``value("client_hello")`` (196 bytes, header included)."""
    try:
        return bytes.fromhex(VALUES[name][0])
    except KeyError:
        raise KeyError(f"no RFC 8448 value {name!r}; known: {', '.join(VALUES)}") from None


def source(name: str) -> str:
    """Where the value is printed in RFC 8448 (section, page, step and label)."""
    return VALUES[name][1]


# Section 3's ticket and section 4 ("Resumed 0-RTT Handshake"), which resumes it: the values
# assignment 07 is checked against. Copied by tests/rfc8448_trace.py from the RFC text (octet
# counts checked); each says the section and the line of the RFC text it is printed on.
RESUMED: dict[str, tuple[str, str]] = {
    "resumption_master_secret": (
        "7df235f2031d2a051287d02b0241b0bfdaf86cc856231f2d5aba46c434ec196c",
        'section 3, line 739: {client} derive secret "tls13 res master": "expanded"'),
    "ticket_nonce": (
        "0000",
        'section 3, line 754: {server} generate resumption secret "tls13 resumption": "hash"'),
    "resumption_psk": (
        "4ecd0eb6ec3b4d87f5d6028f922ca4c5851a277fd41311c9e62d2c9492e1c4f3",
        'section 3, line 759: {server} generate resumption secret "tls13 resumption": "expanded"'),
    "psk": (
        "4ecd0eb6ec3b4d87f5d6028f922ca4c5851a277fd41311c9e62d2c9492e1c4f3",
        'section 4, line 878: {client} extract secret "early": "IKM"'),
    "early_secret": (
        "9b2188e9b2fc6d64d71dc329900e20bb41915000f678aa839cbb797cb7d8332c",
        'section 4, line 881: {client} extract secret "early": "secret"'),
    "binder_key": (
        "69fe131a3bbad5d63c64eebcc30e395b9d8107726a13d074e389dbc8a4e47256",
        'section 4, line 949: {client} calculate PSK binder: "PRK"'),
    "truncated_client_hello": (
        "010001fc03031bc3ceb6bbe39cff938355b5a50adb6db21b7a6af649d7b4bc41"
        "9d7876487d95000006130113031302010001cd0000000b000900000673657276"
        "6572ff01000100000a00140012001d0017001800190100010101020103010400"
        "3300260024001d0020e4ffb68ac05f8d96c99da26698346c6be16482badddafe"
        "051a66b4f18d668f0b002a0000002b0003020304000d0020001e040305030603"
        "020308040805080604010501060102010402050206020202002d00020101001c"
        "0002400100150057000000000000000000000000000000000000000000000000"
        "0000000000000000000000000000000000000000000000000000000000000000"
        "0000000000000000000000000000000000000000000000000000000000000000"
        "2900dd00b800b22c035d829359ee5ff7af4ec900000000262a6494dc486d2c8a"
        "34cb33fa90bf1b0070ad3c498883c9367c09a2be785abc55cd226097a3a98211"
        "7283f82a03a143efd3ff5dd36d64e861be7fd61d2827db279cce145077d454a3"
        "664d4e6da4d29ee03725a6a4dafcd0fc67d2aea70529513e3da2677fa5906c5b"
        "3f7d8f92f228bda40dda721470f9fbf297b5aea617646fac5c03272e970727c6"
        "21a79141ef5f7de6505e5bfbc388e93343694093934ae4d357fad6aacb",
        'section 4, line 921: {client} calculate PSK binder: "ClientHello prefix"'),
    "binder_hash": (
        "63224b2e4573f2d3454ca84b9d009a04f6be9e05711a8396473aefa01e924a14",
        'section 4, line 946: {client} calculate PSK binder: "binder hash"'),
    "binder_finished_key": (
        "5588673e72cb59c87d220caffe94f2dea9a3b1609f7d50e90a48227db9ed7eaa",
        'section 4, line 964: {client} calculate PSK binder: "expanded"'),
    "binder": (
        "3add4fb2d8fdf822a0ca3cf7678ef5e88dae990141c5924d57bb6fa31b9e5f9d",
        'section 4, line 967: {client} calculate PSK binder: "finished"'),
    "client_hello": (
        "010001fc03031bc3ceb6bbe39cff938355b5a50adb6db21b7a6af649d7b4bc41"
        "9d7876487d95000006130113031302010001cd0000000b000900000673657276"
        "6572ff01000100000a00140012001d0017001800190100010101020103010400"
        "3300260024001d0020e4ffb68ac05f8d96c99da26698346c6be16482badddafe"
        "051a66b4f18d668f0b002a0000002b0003020304000d0020001e040305030603"
        "020308040805080604010501060102010402050206020202002d00020101001c"
        "0002400100150057000000000000000000000000000000000000000000000000"
        "0000000000000000000000000000000000000000000000000000000000000000"
        "0000000000000000000000000000000000000000000000000000000000000000"
        "2900dd00b800b22c035d829359ee5ff7af4ec900000000262a6494dc486d2c8a"
        "34cb33fa90bf1b0070ad3c498883c9367c09a2be785abc55cd226097a3a98211"
        "7283f82a03a143efd3ff5dd36d64e861be7fd61d2827db279cce145077d454a3"
        "664d4e6da4d29ee03725a6a4dafcd0fc67d2aea70529513e3da2677fa5906c5b"
        "3f7d8f92f228bda40dda721470f9fbf297b5aea617646fac5c03272e970727c6"
        "21a79141ef5f7de6505e5bfbc388e93343694093934ae4d357fad6aacb002120"
        "3add4fb2d8fdf822a0ca3cf7678ef5e88dae990141c5924d57bb6fa31b9e5f9d",
        'section 4, line 972: {client} send handshake record: "payload"'),
}


def resumed(name: str) -> bytes:
    """One value of the resumption trace (``RESUMED``), e.g. ``resumed("binder")``."""
    try:
        return bytes.fromhex(RESUMED[name][0])
    except KeyError:
        raise KeyError(f"no RFC 8448 resumption value {name!r}; known: "
                       f"{', '.join(RESUMED)}") from None


def resumed_source(name: str) -> str:
    return RESUMED[name][1]
