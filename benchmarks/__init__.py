"""Development tools of the tlslesson checkout (``make bench``); not shipped in the wheel."""
