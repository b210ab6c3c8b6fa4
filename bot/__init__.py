"""The program: the command line (__main__), its logs, and the assembly of the whole bot (app.py:
one Application per messenger with its handlers; runtime.py: start and stop everything).
Its sub-packages, by kind: campaign/ (rules, no messenger), messenger/ (the python-telegram-bot
adapter), outputs/ (poster, charts, workbook), devtools/ (loopback server, playground: not
production)."""
