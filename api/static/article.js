// Highlights the characters named in the address (#start-end), counted in the article's text.
(() => {
  "use strict";
  function highlight() {
    const container = document.getElementById("article-text");
    const found = /^#(\d+)-(\d+)$/.exec(location.hash);
    for (const old of container.querySelectorAll("mark")) old.replaceWith(...old.childNodes);
    container.normalize();
    if (!found) return;
    const start = Number(found[1]);
    const end = Number(found[2]);
    if (end <= start) return;
    // Browsers split long text into several nodes: walk them, counting characters.
    const walker = document.createTreeWalker(container, NodeFilter.SHOW_TEXT);
    const range = document.createRange();
    let offset = 0;
    let begun = false;
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const length = node.data.length;
      if (!begun && start <= offset + length) { range.setStart(node, start - offset); begun = true; }
      if (begun && end <= offset + length) {
        range.setEnd(node, end - offset);
        const mark = document.createElement("mark");
        mark.id = "cited";
        mark.append(range.extractContents());
        range.insertNode(mark);
        mark.scrollIntoView({ block: "center" });
        return;
      }
      offset += length;
    }
  }
  window.addEventListener("hashchange", highlight);
  highlight();
})();
