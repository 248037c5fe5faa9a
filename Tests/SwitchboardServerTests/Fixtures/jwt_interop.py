"""PyJWT on the other side of Switchboard's tokens (interop check).

    jwt_interop.py mint SECRET SUB ISS AUD EXP_OFFSET   -> prints a token
    jwt_interop.py verify SECRET TOKEN ISS AUD          -> prints the sub
"""
import sys
import time

import jwt

mode = sys.argv[1]
if mode == "mint":
    secret, sub, iss, aud, offset = sys.argv[2:7]
    now = int(time.time())
    claims = {"sub": sub, "iss": iss, "iat": now, "exp": now + int(offset)}
    if aud != "-":
        claims["aud"] = aud
    print(jwt.encode(claims, secret, algorithm="HS256"))
elif mode == "verify":
    secret, token, iss, aud = sys.argv[2:6]
    claims = jwt.decode(token, secret, algorithms=["HS256"], issuer=iss, audience=aud)
    print(claims["sub"])
else:
    sys.exit("unknown mode")
