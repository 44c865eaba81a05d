"""Screens for each channel: paginated GSM-safe USSD menus and numbered SMS lists."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flows.sms_text import sms_encoding
from flows.textfold import ussd_safe

MORE = 98
BACK = 0
ELLIPSIS = "..."


@dataclass(frozen=True, slots=True)
class Screen:
    """What a node shows before channel rendering.

    `options` are labels numbered from 1; `menu` says replies pick an option (USSD then
    paginates and offers 98/0); `sms_options` False hides the options on SMS (a message's
    lone "Continue"), where `sms_footer` is shown instead. `items` are unnumbered lines
    after the body (a list of help points): they are what gets paginated, and the options
    then show on the last page only.
    """

    body: str
    options: tuple[str, ...] = ()
    menu: bool = False
    sms_options: bool = True
    sms_footer: str = ""
    items: tuple[str, ...] = ()


def option_line(number: int, label: str) -> str:
    """Return the line of a numbered option ("3. Label")."""
    return f"{number}. {label}"


def ussd_pages(header: str, lines: list[str], more_line: str, back_line: str,
               show_back_first: bool, limit: int) -> list[tuple[int, int]] | None:
    """Split option `lines` into pages that fit `limit` characters with their nav lines.

    Page 0 carries `header`; later pages only options, "98 more" when options remain and
    "0 back" always (page 0 only with `show_back_first`). Returns [(start, end)] slices of
    `lines`, or None when some page cannot hold even one option.
    """
    pages: list[tuple[int, int]] = []
    start = 0
    count = len(lines)
    while start < count or not pages:
        used = (len(header) + 1) if (not pages and header) else 0
        back = (not pages and show_back_first) or bool(pages)
        nav_back = len(back_line) + 1 if back else 0
        end = start
        best = None
        total = used + nav_back
        while end < count:
            total += len(lines[end]) + 1
            end += 1
            more = len(more_line) + 1 if end < count else 0
            if total + more - 1 <= limit:
                best = end
            else:
                break
        if best is None:
            if count == 0 and total - 1 <= limit:
                return [(0, 0)]
            return None
        pages.append((start, best))
        start = best
    return pages


def compose_ussd_menu(header: str, lines: list[str], pages: list[tuple[int, int]], page: int,
                      more_line: str, back_line: str, show_back_first: bool,
                      notice: str, limit: int, short_notice: str = "") -> str:
    """Return the text of one menu page, with `notice` on top when it fits.

    Page slices never change with the notice (so "98" and "0" stay consistent). When the
    notice and the header do not both fit, the notice replaces the header; then
    `short_notice` is tried; when no notice fits it is left out (the options matter more).
    """
    page = max(0, min(page, len(pages) - 1))
    start, end = pages[page]
    tail = list(lines[start:end])
    if end < len(lines):
        tail.append(more_line)
    if page > 0 or show_back_first:
        tail.append(back_line)
    heads = [header] if page == 0 and header else []
    candidates = []
    for note in dict.fromkeys(n for n in (notice, short_notice) if n):
        candidates += [[note, *heads], [note]]
    candidates.append(heads)
    for head in candidates:
        text = "\n".join(head + tail)
        if len(text) <= limit:
            return text
    return fit_text("\n".join(heads + tail), limit)


def compose_ussd_text(body: str, notice: str, limit: int) -> str:
    """Return a screen without options (a question or a closing text), fitted to `limit`."""
    if notice:
        text = f"{notice}\n{body}" if body else notice
        if len(text) <= limit:
            return text
        room = limit - len(notice) - 1
        if room > 20:
            return f"{notice}\n{fit_text(body, room)}"
    return fit_text(body, limit)


def fit_text(text: str, limit: int) -> str:
    """Cut `text` to `limit` characters with an ellipsis (a last resort; the linter warns)."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(ELLIPSIS))].rstrip() + ELLIPSIS


def render_ussd(screen: Screen, *, page: int, show_back: bool, notice: str, more: str,
                back: str, limit: int, short_notice: str = "") -> tuple[str, int]:
    """Return (screen text, number of pages) for USSD: GSM-safe and within `limit`.

    `notice` (an "invalid answer" or help line) goes on top when it fits, else
    `short_notice` does (see compose_ussd_menu).
    """
    header = ussd_safe(screen.body)
    notice = ussd_safe(notice) if notice else ""
    short_notice = ussd_safe(short_notice) if short_notice else ""
    if screen.items:
        return _render_ussd_items(screen, header, page=page, show_back=show_back,
                                  notice=short_notice or notice, more=more, back=back,
                                  limit=limit)
    if not screen.options:
        return compose_ussd_text(header, notice, limit), 1
    lines = [option_line(i, ussd_safe(label)) for i, label in enumerate(screen.options, 1)]
    more_line = option_line(MORE, ussd_safe(more))
    back_line = option_line(BACK, ussd_safe(back))
    pages = ussd_pages(header, lines, more_line, back_line, show_back, limit)
    if pages is None:
        # The linter reports this; at run time the caller still gets a usable screen.
        header = fit_text(header, limit // 3)
        lines = [fit_text(line, limit // 3) for line in lines]
        pages = ussd_pages(header, lines, more_line, back_line, show_back, limit) or [
            (i, i + 1) for i in range(len(lines))]
    text = compose_ussd_menu(header, lines, pages, page, more_line, back_line, show_back,
                             notice, limit, short_notice)
    return text, len(pages)


def ussd_item_pages(header: str, items: list[str], last_tail: list[str], more_line: str,
                    back_line: str, show_back_first: bool, limit: int) -> list[tuple[int, int]]:
    """Split unnumbered `items` into USSD pages of as many whole items as fit `limit`.

    Page 0 carries `header`; the last page ends with `last_tail` (the options), the others
    with "98 more"; "0 back" ends every page but the first unless `show_back_first`. A page
    always holds at least one item (cut to fit when composed). Returns [(start, end)].
    """
    pages: list[tuple[int, int]] = []
    start = 0
    count = len(items)
    while start < count:
        head = [header] if (not pages and header) else []
        back = [back_line] if (pages or show_back_first) else []
        end = start + 1
        while end < count:
            tail = (last_tail if end + 1 == count else [more_line]) + back
            if len("\n".join(head + items[start:end + 1] + tail)) > limit:
                break
            end += 1
        pages.append((start, end))
        start = end
    return pages or [(0, 0)]


def _render_ussd_items(screen: Screen, header: str, *, page: int, show_back: bool, notice: str,
                       more: str, back: str, limit: int) -> tuple[str, int]:
    items = [ussd_safe(item) for item in screen.items]
    last_tail = [option_line(i, ussd_safe(label)) for i, label in enumerate(screen.options, 1)]
    more_line = option_line(MORE, ussd_safe(more))
    back_line = option_line(BACK, ussd_safe(back))
    pages = ussd_item_pages(header, items, last_tail, more_line, back_line, show_back, limit)
    page = max(0, min(page, len(pages) - 1))
    start, end = pages[page]
    head = [header] if page == 0 and header else []
    tail = (last_tail if end == len(items) else [more_line]) + (
        [back_line] if (page > 0 or show_back) else [])
    body = items[start:end]
    if len(body) == 1 and len("\n".join(head + body + tail)) > limit:
        # One help point longer than a page: cut its end (templates put the phone first).
        room = limit - len("\n".join(head + tail)) - (1 if head or tail else 0)
        body = [fit_text(body[0], max(room, 1))]
    text = "\n".join(head + body + tail)
    if notice and len(notice) + 1 + len(text) <= limit:
        text = f"{notice}\n{text}"
    return fit_text(text, limit), len(pages)


def render_sms(screen: Screen, *, notice: str, fold: bool) -> str:
    """Return the SMS text: notice, body, items, numbered options (all) and the footer."""
    parts = [notice] if notice else []
    if screen.body:
        parts.append(screen.body)
    parts.extend(screen.items)
    if screen.sms_options:
        parts.extend(option_line(i, label) for i, label in enumerate(screen.options, 1))
    if screen.sms_footer:
        parts.append(screen.sms_footer)
    text = "\n".join(parts)
    return ussd_safe(text) if fold else text


def sms_pages(header: str, lines: list[str], more_line: str,
              fits: Callable[[str], bool]) -> list[tuple[int, int]]:
    """Split option `lines` into SMS pages that each `fits` (the segment budget).

    Page 0 carries `header`; every page but the last ends with `more_line` ("98 more").
    Returns [(start, end)] slices of `lines`. A page always holds at least one option, so
    an option too long for the budget still gets a (too long) page of its own.
    """
    pages: list[tuple[int, int]] = []
    start = 0
    count = len(lines)
    while start < count:
        head = [header] if (not pages and header) else []
        end = start + 1
        while end < count:
            more = [more_line] if end + 1 < count else []
            if not fits("\n".join(head + lines[start:end + 1] + more)):
                break
            end += 1
        pages.append((start, end))
        start = end
    return pages or [(0, 0)]


def render_sms_page(screen: Screen, *, page: int, notice: str, fold: bool, budget: int,
                    more: str) -> tuple[str, int]:
    """Return (SMS text, number of pages); a menu over `budget` segments is paginated.

    A menu whose whole SMS takes more than `budget` segments is split into pages that
    each fit: page 0 has the body, later pages only options, and every page but the last
    ends with "98. <more>". Option numbers continue across pages. Pages are measured
    without `notice` (so "98" always shows the same options); a notice goes on top.
    """
    if screen.items:
        return _render_sms_items(screen, page=page, notice=notice, fold=fold, budget=budget,
                                 more=more)
    if not (screen.sms_options and screen.options):
        return render_sms(screen, notice=notice, fold=fold), 1
    whole = render_sms(screen, notice="", fold=fold)
    if sms_encoding(whole).segments <= budget:
        return (render_sms(screen, notice=notice, fold=fold) if notice else whole), 1
    lines = [option_line(i, label) for i, label in enumerate(screen.options, 1)]
    return _sms_page(screen.body, lines, lines, screen.sms_footer, page=page, notice=notice, fold=fold,
                     budget=budget, more=more)


def _render_sms_items(screen: Screen, *, page: int, notice: str, fold: bool, budget: int,
                      more: str) -> tuple[str, int]:
    """Items (help points) in pages within `budget`; the footer ends the last page."""
    whole = render_sms(screen, notice="", fold=fold)
    if sms_encoding(whole).segments <= budget:
        return (render_sms(screen, notice=notice, fold=fold) if notice else whole), 1
    items = list(screen.items)
    footer = "\n".join(
        ([option_line(i, label) for i, label in enumerate(screen.options, 1)]
         if screen.sms_options else []) + ([screen.sms_footer] if screen.sms_footer else []))
    # The last page carries the footer too, so it is measured with it.
    measured = [*items[:-1], items[-1] + (f"\n{footer}" if footer else "")]
    return _sms_page(screen.body, items, measured, footer, page=page, notice=notice, fold=fold,
                     budget=budget, more=more)


def _sms_page(body: str, entries: list[str], measured: list[str], footer: str | None, *, page: int,
              notice: str, fold: bool, budget: int, more: str) -> tuple[str, int]:
    """Page `page` of `entries` (sized as `measured`) within `budget`; the footer ends the last page."""
    more_line = option_line(MORE, more)

    def fits(text: str) -> bool:
        return sms_encoding(ussd_safe(text) if fold else text).segments <= budget

    pages = sms_pages(body, measured, more_line, fits)
    page = max(0, min(page, len(pages) - 1))
    start, end = pages[page]
    parts = [notice] if notice else []
    if page == 0 and body:
        parts.append(body)
    parts.extend(entries[start:end])
    if end < len(entries):
        parts.append(more_line)
    elif footer:
        parts.append(footer)
    text = "\n".join(parts)
    return (ussd_safe(text) if fold else text), len(pages)
