"""A test window for the watcher tests: `python xwindow.py APP TITLE`.

Sets its process name to APP (what psutil reports for the window's _NET_WM_PID), maps a
window titled TITLE, prints the window id, then reads commands from stdin:
`title NEW TITLE` renames the window; end of input exits (and the window goes away).
"""

import ctypes
import os
import sys

from Xlib import X, Xatom, display

PR_SET_NAME = 15


def main() -> None:
    app, title = sys.argv[1], sys.argv[2]
    ctypes.CDLL(None).prctl(PR_SET_NAME, app.encode()[:15], 0, 0, 0)
    d = display.Display()
    screen = d.screen()
    utf8, net_name = d.intern_atom("UTF8_STRING"), d.intern_atom("_NET_WM_NAME")
    window = screen.root.create_window(10, 10, 300, 200, 0, screen.root_depth, X.InputOutput,
                                       X.CopyFromParent, background_pixel=screen.white_pixel)

    def set_title(text: str) -> None:
        window.set_wm_name(text.encode("latin-1", "replace"))
        window.change_property(net_name, utf8, 8, text.encode())
        d.flush()

    set_title(title)
    window.set_wm_class(app, app)
    window.change_property(d.intern_atom("_NET_WM_PID"), Xatom.CARDINAL, 32, [os.getpid()])
    window.map()
    d.sync()
    print(window.id, flush=True)
    for line in sys.stdin:
        command, _, arg = line.rstrip("\n").partition(" ")
        if command == "title":
            set_title(arg)
            d.sync()
            print("ok", flush=True)


if __name__ == "__main__":
    main()
