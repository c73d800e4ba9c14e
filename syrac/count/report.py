"""``index.html``: one page to look through a ``syrac count`` run.

The page is written from the run's ``counts.json`` document and needs nothing but the run's
folder: no network, no server, no script library (a few lines of inline JavaScript filter the
entries by name and sort them by count). Every image is a card with its thumbnail (linking to
its full figure), count, per-patch grid and count map when drawn; every video is a section with
its peak frame, mean and maximum, the plot of its count over time, its contact sheet and one
table row per counted frame; failures are listed with their reasons. Each row of ``counts.csv``
is one element of class ``entry``, so the page and the table can be checked against each other.
Thumbnails are small JPEGs, so a run of a few thousand images stays light to open.
"""

import html
import os

from syrac.count.count_figures import clock

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}
h1{font-size:1.4em;margin:0 0 .3em} h2{font-size:1.15em;margin:1.4em 0 .5em}
.summary{margin:.2em 0 1em;color:#444} .summary a{margin-right:1em}
.controls{margin:.5em 0 1em} .controls input,.controls select{font-size:1em;margin-right:.6em}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px;width:250px}
.card img{width:240px;display:block;border-radius:3px}
.name{font-size:.85em;word-break:break-all;color:#555;margin:.3em 0}
.count{font-size:1.3em;font-weight:600}
table.grid{border-collapse:collapse;margin-top:.3em} table.grid td{border:1px solid #bbb;
padding:1px 5px;font-size:.8em;text-align:right}
.video{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px;margin-bottom:14px}
.pictures{display:flex;flex-wrap:wrap;gap:10px;align-items:flex-start;margin-top:6px}
.pictures img{max-width:560px;width:48%}
table.frames{border-collapse:collapse;font-size:.85em;margin-top:6px}
table.frames td,table.frames th{border-bottom:1px solid #eee;padding:2px 8px;text-align:right}
details{margin-top:6px} .problem{color:#a30}
table.failures td{padding:2px 8px;border-bottom:1px solid #eee} .hidden{display:none}
"""

_SCRIPT = """
(function(){
  var filter=document.getElementById('filter'), order=document.getElementById('order');
  var cards=document.getElementById('cards');
  function apply(){
    var text=filter.value.toLowerCase();
    var items=Array.prototype.slice.call(cards.children);
    items.forEach(function(item){
      item.classList.toggle('hidden', item.dataset.name.toLowerCase().indexOf(text)<0);});
    if(order.value!=='name'){
      var sign=order.value==='high'?-1:1;
      items.sort(function(a,b){return sign*(parseFloat(a.dataset.count)-parseFloat(b.dataset.count));});
    } else {
      items.sort(function(a,b){return parseInt(a.dataset.position)-parseInt(b.dataset.position);});
    }
    items.forEach(function(item){cards.appendChild(item);});
  }
  filter.addEventListener('input',apply); order.addEventListener('change',apply);
})();
"""


def _link(folder, path, text):
    relative = os.path.relpath(path, folder) if os.path.isabs(path) else path
    return f'<a href="{html.escape(relative)}">{html.escape(text)}</a>'


def _relative(folder, path):
    return html.escape(os.path.relpath(path, folder) if os.path.isabs(path) else path)


def _grid(patch_counts, n):
    rows = []
    for row in range(n):
        cells = "".join(f"<td>{c:.1f}</td>" for c in patch_counts[row * n:(row + 1) * n])
        rows.append(f"<tr>{cells}</tr>")
    return f'<table class="grid">{"".join(rows)}</table>'


def _image_card(folder, record, position):
    name = os.path.basename(record["path"])
    parts = [f'<div class="card entry" data-name="{html.escape(name)}" '
             f'data-count="{record["count"]:.4f}" data-position="{position}">',
             f'<a href="{_relative(folder, record["figure"])}"><img loading="lazy" alt="'
             f'{html.escape(name)}" src="{_relative(folder, record["thumbnail"])}"></a>',
             f'<div class="name">{html.escape(record["path"])}</div>',
             f'<div class="count">{record["count"]:.1f}</div>',
             _grid(record["patch_counts"], record["N"])]
    if record.get("map"):
        parts.append(f'<div>{_link(folder, record["map"], "count map (.npy)")}</div>')
    parts.append("</div>")
    return "".join(parts)


def _video_section(folder, video):
    name = os.path.basename(video["path"])
    frames = "".join(
        f'<tr class="entry"><td>{f["frame"]}</td><td>{clock(f["time"])}</td>'
        f'<td>{f["count"]:.2f}</td><td>{" ".join(f"{c:.1f}" for c in f["patch_counts"])}</td></tr>'
        for f in video["frames"])
    problem = (f'<div class="problem">{html.escape(video["problem"])}</div>'
               if video.get("problem") else "")
    return (
        f'<div class="video"><h3>{html.escape(name)}</h3>'
        f'<div class="name">{html.escape(video["path"])}</div>{problem}'
        f'<div>{len(video["frames"])} frame(s) counted; mean <b>{video["mean"]:.1f}</b>, '
        f'maximum <b>{video["max"]:.1f}</b> at {clock(video["max_time"])} '
        f'(frame {video["max_frame"]})</div>'
        f'<div class="pictures"><img class="plot" loading="lazy" alt="count over time" '
        f'src="{_relative(folder, video["plot"])}">'
        f'<img class="sheet" loading="lazy" alt="contact sheet" '
        f'src="{_relative(folder, video["contact_sheet"])}"></div>'
        f'<details><summary>every counted frame</summary><table class="frames"><tr><th>frame</th>'
        f'<th>time</th><th>count</th><th>patch counts</th></tr>{frames}</table></details></div>')


def render(document, folder):
    """The page's HTML for the ``counts.json`` document of the run in ``folder``."""
    images, videos, failed = document["images"], document["videos"], document["failed"]
    title = f"syrac count: {len(images)} image(s), {len(videos)} video(s)"
    total = sum(record["count"] for record in images)
    summary = (f'model {html.escape(document["model"])} ({html.escape(document["runtime"])}), '
               f'N = {document["N"]}; {len(images)} image(s) counted, {total:.1f} people in all; '
               f'{len(videos)} video(s); {len(failed)} failure(s)')
    body = [f"<h1>{html.escape(title)}</h1>", f'<div class="summary">{summary}</div>',
            f'<div class="summary">{_link(folder, "counts.csv", "counts.csv")}'
            f'{_link(folder, "counts.json", "counts.json")}</div>']
    if failed:
        rows = "".join(f"<tr><td>{html.escape(f['path'])}</td><td>{html.escape(f['reason'])}"
                       f"</td></tr>" for f in failed)
        body.append(f'<h2>Could not be counted ({len(failed)})</h2>'
                    f'<table class="failures" id="failures">{rows}</table>')
    if videos:
        body.append(f"<h2>Videos ({len(videos)})</h2>")
        body += [_video_section(folder, video) for video in videos]
    body.append(f"<h2>Images ({len(images)})</h2>")
    body.append('<div class="controls"><input id="filter" placeholder="filter by name">'
                '<select id="order"><option value="name">in order</option>'
                '<option value="high">most people first</option>'
                '<option value="low">fewest people first</option></select></div>')
    body.append('<div class="cards" id="cards">'
                + "".join(_image_card(folder, r, i) for i, r in enumerate(images)) + "</div>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
            + "\n".join(body) + f"<script>{_SCRIPT}</script></body></html>\n")
