"""Who may see and change what: org tree, accounts, devices, tokens, sessions, audit."""
