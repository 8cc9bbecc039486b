"""What GitHub Pages' Jekyll makes of a site (pure functions): Liquid's errors word for word, the Markdown subset,
which files become pages."""

from __future__ import annotations

import pytest

from sandbox.github import jekyll, liquid, markdown


@pytest.mark.parametrize(("source", "error"), [
    # google/syzkaller#5089: an unterminated variable, even in a code block.
    ("```\n{{0x800, @ipv4={{0x5}\n```", "Liquid syntax error (line 2): Variable '{{0x800, @ipv4={{0x5}' was not "
                                        "properly terminated with regexp: /\\}\\}/"),
    ("a {{ b", "Liquid syntax error (line 1): Variable '{{' was not properly terminated with regexp: /\\}\\}/"),
    # sanskrit-lexicon/MWS#198: `{%` without a tag name.
    ("x\n`{%…%}`", "Liquid syntax error (line 2): Tag '{%…%}' was not properly terminated with regexp: /\\%\\}/"),
    # sanskrit-lexicon/CORRECTIONS#413, alshedivat/al-folio#933: a tag Liquid does not know.
    ("\n\n{% sits here %}", "Liquid syntax error (line 3): Unknown tag 'sits'"),
    # huggingface/trl#5636: a block never closed.
    ("{% if x %}\nopen", "Liquid syntax error (line 2): 'if' tag was never closed"),
    ("{% endif %}", "Liquid syntax error (line 1): Unknown tag 'endif'"),
    ("{% for a in b %}{% endif %}", "Liquid syntax error (line 1): 'endif' is not a valid delimiter for for tags. "
                                    "use endfor"),
    ("{% raw %}{{ never", "Liquid syntax error (line 1): 'raw' tag was never closed"),
])
def test_liquid_refuses_what_liquid_refuses_in_its_words(source: str, error: str) -> None:
    with pytest.raises(liquid.LiquidError) as caught:
        liquid.render(source, {})
    assert str(caught.value) == error


@pytest.mark.parametrize(("source", "rendered"), [
    ("Hi {{ page.title }}!", "Hi Home!"),
    ("{{ missing.deep.name }}|{{ 'q' | upcase }}|{{ page.title | downcase | append: '!' }}", "|Q|home!"),
    ("{{ nothing | default: 'fallback' }} {{ page.title | unknownfilter }}", "fallback Home"),
    ("{% raw %}{{ kept }} {% if %}{% endraw %}", "{{ kept }} {% if %}"),
    ("{% comment %}{% anything %}{% endcomment %}gone", "gone"),
    ("{% if page.n > 2 %}big{% elsif page.n == 2 %}two{% else %}small{% endif %}", "two"),
    ("{% unless page.title %}none{% else %}some{% endunless %}", "some"),
    ("{% assign w = 'x' %}{% capture c %}[{{ w }}]{% endcapture %}{{ c }}{{ c }}", "[x][x]"),
    ("{% for i in page.items %}{{ i }},{% else %}empty{% endfor %}", "1,2,"),
    ("{% case page.n %}{% when 1 %}one{% when 2 %}two{% endcase %}", "two"),
    ("a  {{- ' b ' -}}  c", "a b c"),
    ("{{ '/x.css' | relative_url }}", "/site/x.css"),
])
def test_liquid_renders_its_subset(source: str, rendered: str) -> None:
    page = {"title": "Home", "n": 2, "items": [1, 2]}
    assert liquid.render(source, {"page": page}, "/site") == rendered


def test_markdown_renders_its_subset() -> None:
    html = markdown.render("# Big *Title*\n\nSome **bold** and `a<b` and [doc](guide.md#top), ![i](p.png).\n\n"
                           "- one\n- two\n\n1. first\n2. second\n\n> quoted\n\n---\n\n```python\nx = 1 < 2\n```\n\n"
                           "<div class=\"raw\">kept</div>\n")
    assert '<h1 id="big-title">Big <em>Title</em></h1>' in html
    assert ('<p>Some <strong>bold</strong> and <code class="language-plaintext highlighter-rouge">a&lt;b</code> and '
            '<a href="guide.html#top">doc</a>, <img src="p.png" alt="i" />.</p>') in html
    assert "<ul>\n  <li>one</li>\n  <li>two</li>\n</ul>" in html and "<ol>\n  <li>first</li>" in html
    assert "<blockquote>\n<p>quoted</p>\n</blockquote>" in html and "<hr />" in html
    assert ('<div class="language-python highlighter-rouge"><div class="highlight"><pre class="highlight"><code>'
            "x = 1 &lt; 2\n</code></pre></div></div>") in html
    assert '<div class="raw">kept</div>' in html
    assert markdown.first_heading("text\n## The `first` one\n# later") == "The first one"


def test_jekyll_renders_pages_copies_the_rest_and_names_the_failing_file() -> None:
    blobs = {"r": b"# Readme\n", "i": b"<html>{{ not liquid without front matter }}</html>",
             "f": b"---\n---\n<p>{{ page.name }}</p>", "g": b"gem", "n": b"---\nbad: [yaml\n---\n# T\n",
             "s": b"# Sub\n"}
    files = [("README.md", 0o100644, "r"), ("raw.html", 0o100644, "i"), ("page.html", 0o100644, "f"),
             ("Gemfile", 0o100644, "g"), ("docs/guide.md", 0o100644, "n"), ("sub/README.md", 0o100644, "s"),
             ("sub/index.html", 0o100644, "i")]
    out = {path: content for path, _, content in jekyll.build(files, blobs.__getitem__, "/site")}
    assert set(out) == {"index.html", "raw.html", "page.html", "docs/guide.html", "sub/README.html", "sub/index.html"}
    assert b"<title>Readme</title>" in out["index.html"]
    assert out["raw.html"] == "i"  # copied as it is (a blob id, not new content)
    assert out["page.html"] == b"<p>page.html</p>"
    assert b'<h1 id="t">T</h1>' in out["docs/guide.html"]  # invalid YAML front matter: Jekyll only warns
    with pytest.raises(jekyll.BuildError, match=r"^Liquid syntax error \(line 1\): Unknown tag 'x' in docs/a.md$"):
        jekyll.build([("docs/a.md", 0o100644, "b")], {"b": b"{% x %}"}.__getitem__)
