#!/usr/bin/python3
#
# A small NNTP client for the shell tests, on python's nntplib:
#   nntp_tool.py [-r] PORT post FILE       post FILE, print the answer
#   nntp_tool.py [-r] PORT count GROUP     print the article count
#   nntp_tool.py [-r] PORT has MSGID       exit 0 if the server has it
#   nntp_tool.py [-r] PORT article MSGID   print the article
#   nntp_tool.py [-r] PORT subjects GROUP  print each article's Subject
# -r sends MODE READER first (INN hands the connection to nnrpd then).

import nntplib
import sys

args = sys.argv[1:]
reader = args[0] == "-r"
if reader:
    args = args[1:]
port, verb, arg = int(args[0]), args[1], args[2]
try:
    s = nntplib.NNTP("127.0.0.1", port, readermode=reader)
    if verb == "post":
        with open(arg, "rb") as f:
            print(s.post(f))
    elif verb == "count":
        print(s.group(arg)[1])
    elif verb == "has":
        s.stat(arg)
    elif verb == "subjects":
        _, count, first, last, _ = s.group(arg)
        if count > 0:
            for _, over in s.over((first, last))[1]:
                print(nntplib.decode_header(over["subject"]))
    elif verb == "article":
        for line in s.article(arg)[1].lines:
            print(line.decode("utf-8", "replace"))
    s.quit()
except (nntplib.NNTPError, OSError) as e:
    print(e)
    sys.exit(1)
