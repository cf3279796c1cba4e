/*
 * <kabar-chat>: ask a news archive from any web page.
 *
 *   <script src="https://kabar.example/widget.js" defer></script>
 *   <kabar-chat endpoint="https://kabar.example" lang="id"></kabar-chat>
 *
 * Attributes: endpoint (default: where this script came from), lang (id | en), placeholder,
 * mode (launcher | inline), theme (light | dark; default: the reader's preference), api-key.
 *
 * Everything from the archive (titles, article text, sources) is untrusted: it is only ever
 * put into the page with textContent, never parsed as HTML. Styles live in a shadow root, so
 * the host page cannot restyle the widget and the widget cannot leak styles into the page.
 */
(() => {
  "use strict";
  if (customElements.get("kabar-chat")) return;

  const SCRIPT_ORIGIN = document.currentScript && document.currentScript.src
    ? new URL(document.currentScript.src, location.href).origin : location.origin;
  const MAX_TURNS_SENT = 10;
  const MAX_TURNS_KEPT = 30;

  const TEXT = {
    en: {
      open: "Ask the news archive", close: "Close the chat", title: "Ask the archive",
      placeholder: "Ask about the news…", send: "Send", question: "Your question",
      searching: "Searching the archive…", answering: "Choosing the answer…",
      noAnswer: "No answer found in the archive.", closest: "Closest passages",
      sources: (n) => `Sources (${n})`, citation: (n) => `Source ${n}`,
      newChat: "New conversation", back: "Back to the conversation", openPage: "Open the article page",
      original: "Original article", cited: "The cited passage is highlighted.",
      network: "Cannot reach the archive server. Check the connection and try again.",
      rate: (s) => `Too many questions at once. Try again in ${s} seconds.`,
      auth: "The archive refused this site's key.", empty: "The archive is empty: no articles are indexed yet.",
      server: (code) => `The archive server failed to answer (error ${code}). Try again later.`,
      interrupted: "The answer was interrupted. Try again.", loading: "Loading the article…",
      missing: "This article is no longer in the archive.", you: "You", kabar: "Archive",
      conversation: "Conversation", also: "Also reported by",
      hint: "Ask about the news in this archive, in any language. Every answer quotes an article and links to it.",
      writing: "Writing the answer in your language…",
      generated: "Written by a language model from the sources. Greyed sentences are not supported by the source they cite.",
      unsupported: "not supported by the cited source", llmError: "No written answer this time",
      fromArchive: "From the archive",
    },
    id: {
      open: "Tanya arsip berita", close: "Tutup obrolan", title: "Tanya arsip",
      placeholder: "Tanya tentang berita…", send: "Kirim", question: "Pertanyaan Anda",
      searching: "Mencari di arsip…", answering: "Memilih jawaban…",
      noAnswer: "Tidak ada jawaban di arsip.", closest: "Bagian terdekat",
      sources: (n) => `Sumber (${n})`, citation: (n) => `Sumber ${n}`,
      newChat: "Percakapan baru", back: "Kembali ke percakapan", openPage: "Buka halaman artikel",
      original: "Artikel asli", cited: "Bagian yang dikutip ditandai.",
      network: "Server arsip tidak dapat dihubungi. Periksa koneksi lalu coba lagi.",
      rate: (s) => `Terlalu banyak pertanyaan. Coba lagi dalam ${s} detik.`,
      auth: "Arsip menolak kunci situs ini.", empty: "Arsip masih kosong: belum ada artikel.",
      server: (code) => `Server arsip gagal menjawab (galat ${code}). Coba lagi nanti.`,
      interrupted: "Jawaban terputus. Coba lagi.", loading: "Memuat artikel…",
      missing: "Artikel ini sudah tidak ada di arsip.", you: "Anda", kabar: "Arsip",
      conversation: "Percakapan", also: "Juga diberitakan oleh",
      hint: "Tanyakan berita di arsip ini, dalam bahasa apa pun. Setiap jawaban mengutip artikel dan menautkannya.",
      writing: "Menulis jawaban dalam bahasa Anda…",
      generated: "Ditulis oleh model bahasa dari sumber. Kalimat abu-abu tidak didukung oleh sumber yang dikutipnya.",
      unsupported: "tidak didukung oleh sumber yang dikutip", llmError: "Kali ini tidak ada jawaban tertulis",
      fromArchive: "Dari arsip",
    },
  };

  const STYLE = `
    :host { all: initial; display: block;
      --bg: #ffffff; --fg: #1b1f24; --muted: #59636e; --line: #d1d9e0; --accent: #0b5cad; --accent-fg: #ffffff;
      --user: #e8f0fa; --mark: #ffe58a; --error: #a4161a; --shadow: 0 8px 30px rgba(0,0,0,.22);
      color-scheme: light; }
    :host([theme="dark"]) { --bg: #16191d; --fg: #e6e9ec; --muted: #9aa5b1; --line: #37404a; --accent: #5ea6f0;
      --accent-fg: #0b1117; --user: #1f2d3d; --mark: #6b5500; --error: #ff8a8a; color-scheme: dark; }
    @media (prefers-color-scheme: dark) {
      :host(:not([theme="light"])) { --bg: #16191d; --fg: #e6e9ec; --muted: #9aa5b1; --line: #37404a;
        --accent: #5ea6f0; --accent-fg: #0b1117; --user: #1f2d3d; --mark: #6b5500; --error: #ff8a8a;
        color-scheme: dark; }
    }
    * { box-sizing: border-box; }
    /* Set here, not on :host: a host page's "* { … !important }" beats :host rules and is inherited. */
    .panel, .launcher { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
      text-align: left; letter-spacing: normal; text-transform: none; }
    [hidden] { display: none !important; }
    button { font: inherit; color: inherit; cursor: pointer; }
    :focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
    .sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
    .launcher { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; width: 56px; height: 56px;
      border-radius: 50%; border: 0; background: var(--accent); color: var(--accent-fg); box-shadow: var(--shadow); }
    .launcher svg { width: 26px; height: 26px; vertical-align: middle; }
    .panel { display: flex; flex-direction: column; background: var(--bg); color: var(--fg); overflow: hidden;
      border: 1px solid var(--line); border-radius: 14px; }
    :host(:not([mode="inline"])) .panel { position: fixed; right: 20px; bottom: 88px; z-index: 2147483000;
      width: min(420px, calc(100vw - 24px)); height: min(640px, calc(100vh - 108px)); box-shadow: var(--shadow); }
    :host([mode="inline"]) .panel { width: 100%; height: var(--kabar-height, 560px); }
    @media (max-width: 520px) {
      :host(:not([mode="inline"])) .panel { right: 0; bottom: 0; width: 100vw; height: 100dvh; border-radius: 0; }
      :host(:not([mode="inline"])) .panel:not([hidden]) ~ .launcher { display: none; }
    }
    header { display: flex; align-items: center; gap: 6px; padding: 10px 12px; border-bottom: 1px solid var(--line); }
    header h2 { flex: 1; margin: 0; font-size: 16px; }
    .icon { border: 1px solid var(--line); background: transparent; border-radius: 8px; padding: 4px 9px; font-size: 13px; }
    .log { flex: 1; overflow-y: auto; padding: 12px; display: flex; flex-direction: column; gap: 12px; }
    .msg { max-width: 92%; padding: 9px 12px; border-radius: 12px; overflow-wrap: anywhere; }
    .msg p { margin: 0; }
    .user { align-self: flex-end; background: var(--user); white-space: pre-wrap; }
    .bot { align-self: flex-start; border: 1px solid var(--line); }
    .status { color: var(--muted); font-style: italic; }
    .hint { color: var(--muted); margin: auto 8px; text-align: center; font-size: 14px; }
    .hint:not(:only-child) { display: none; }
    .answer { font-weight: 500; }
    .headline { font-size: 1.25em; font-weight: 700; margin: 0 0 4px; }
    .answer strong, .reader mark strong { font-weight: 700; text-decoration: underline; text-decoration-thickness: 2px; }
    .cite { border: 0; background: none; color: var(--accent); padding: 0 2px; font-size: 12px; vertical-align: super; }
    .citations { margin: 8px 0 0; padding: 0; list-style: none; font-size: 13px; }
    .citations button, .sources button.source { display: block; width: 100%; text-align: left; border: 0;
      background: none; padding: 3px 0; color: var(--accent); text-decoration: underline; }
    .meta { color: var(--muted); font-size: 12px; }
    .no-answer { font-weight: 500; }
    .generated { margin: 0 0 8px; padding-bottom: 8px; border-bottom: 1px dashed var(--line); }
    .generated .claim.unsupported { color: var(--muted); text-decoration: line-through dotted; }
    .generated .note, .llm-error, .from-archive { color: var(--muted); font-size: 12px; margin-top: 4px; }
    .writing { white-space: pre-wrap; color: var(--muted); }
    .error { color: var(--error); }
    details.sources { margin-top: 8px; font-size: 13px; }
    details.sources summary { cursor: pointer; color: var(--muted); }
    details.sources ol { margin: 6px 0 0; padding-left: 20px; }
    details.sources li { margin-bottom: 8px; }
    .snippet { margin: 2px 0 0; color: var(--fg); display: -webkit-box; -webkit-line-clamp: 4;
      -webkit-box-orient: vertical; overflow: hidden; }
    form { display: flex; gap: 8px; padding: 10px; border-top: 1px solid var(--line); }
    textarea { flex: 1; resize: none; font: inherit; color: var(--fg); background: var(--bg);
      border: 1px solid var(--line); border-radius: 10px; padding: 8px 10px; min-height: 40px; max-height: 120px; }
    .send { border: 0; border-radius: 10px; padding: 0 14px; background: var(--accent); color: var(--accent-fg); }
    .send:disabled { opacity: .55; cursor: default; }
    .reader { flex: 1; overflow-y: auto; padding: 12px 14px; }
    .reader h3 { margin: 10px 0 4px; font-size: 18px; }
    .reader .body { white-space: pre-wrap; margin-top: 10px; }
    .reader mark { background: var(--mark); color: inherit; padding: 1px 0; border-radius: 2px; }
    .reader a { color: var(--accent); }
  `;

  let SHEET = null;
  const ICON = '<svg viewBox="0 0 24 24" aria-hidden="true" fill="currentColor"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg>';

  /** Builds an element; children are nodes or strings, and strings always become text. */
  function h(tag, attributes, ...children) {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
      else element.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      element.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return element;
  }

  function safeUrl(value) {
    try {
      const url = new URL(value);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch { return null; }
  }

  class KabarChat extends HTMLElement {
    static get observedAttributes() { return ["lang", "placeholder", "mode"]; }

    constructor() {
      super();
      this.root = this.attachShadow({ mode: "open" });
      this.turns = [];
      this.busy = false;
    }

    get endpoint() { return (this.getAttribute("endpoint") || SCRIPT_ORIGIN).replace(/\/+$/, ""); }
    get language() {
      const lang = (this.getAttribute("lang") || document.documentElement.lang || "en").toLowerCase();
      return lang.startsWith("id") ? "id" : "en";
    }
    get t() { return TEXT[this.language]; }
    get inline() { return this.getAttribute("mode") === "inline"; }
    get storageKey() { return `kabar-chat:${this.endpoint}:${this.id || "default"}`; }

    connectedCallback() {
      if (!this.panel) this.render();
      this.restore();
    }

    attributeChangedCallback() { if (this.panel) { this.render(); this.restore(); } }

    render() {
      const t = this.t;
      this.root.replaceChildren();
      // A constructed style sheet, not a <style> element: host pages with a strict
      // Content-Security-Policy (no inline styles) still get a styled widget.
      if ("adoptedStyleSheets" in this.root && typeof CSSStyleSheet.prototype.replaceSync === "function") {
        SHEET = SHEET || new CSSStyleSheet();
        if (!SHEET.cssRules.length) SHEET.replaceSync(STYLE);
        this.root.adoptedStyleSheets = [SHEET];
      } else {
        this.root.append(h("style", {}, STYLE));
      }
      this.log = h("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": t.conversation });
      this.input = h("textarea", { id: "question", rows: 1, maxlength: 1000,
        placeholder: this.getAttribute("placeholder") || t.placeholder, onkeydown: (e) => this.onKey(e) });
      this.sendButton = h("button", { class: "send", type: "submit" }, t.send);
      this.form = h("form", { onsubmit: (e) => { e.preventDefault(); this.ask(this.input.value); } },
        h("label", { class: "sr-only", for: "question" }, t.question), this.input, this.sendButton);
      this.reader = h("section", { class: "reader", hidden: true, "aria-label": t.openPage, tabindex: -1 });
      const closeButton = this.inline ? null
        : h("button", { class: "icon", type: "button", "aria-label": t.close, onclick: () => this.close() }, "×");
      this.panel = h("section", { class: "panel", id: "panel", role: this.inline ? "region" : "dialog",
        "aria-label": t.title, hidden: !this.inline, onkeydown: (e) => this.onPanelKey(e) },
        h("header", {}, h("h2", {}, t.title),
          h("button", { class: "icon new", type: "button", onclick: () => this.reset() }, t.newChat), closeButton),
        this.log, this.reader, this.form);
      this.root.append(this.panel);
      if (!this.inline) {
        this.launcher = h("button", { class: "launcher", type: "button", "aria-label": t.open,
          "aria-expanded": "false", "aria-controls": "panel", onclick: () => this.toggle() });
        this.launcher.innerHTML = ICON; // a constant of this file, never archive text
        this.root.append(this.launcher);
      }
    }

    // -- opening and closing ----------------------------------------------------------------
    toggle() { this.panel.hidden ? this.open() : this.close(); }
    open() {
      this.panel.hidden = false;
      this.launcher && this.launcher.setAttribute("aria-expanded", "true");
      this.input.focus();
    }
    close() {
      if (this.inline) return;
      this.panel.hidden = true;
      this.launcher.setAttribute("aria-expanded", "false");
      this.launcher.focus();
    }
    onKey(event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.ask(this.input.value);
      }
    }
    onPanelKey(event) {
      if (event.key !== "Escape") return;
      if (!this.reader.hidden) this.closeArticle(); else this.close();
    }

    // -- the conversation, kept for the browser session ----------------------------------------
    restore() {
      this.log.replaceChildren(h("p", { class: "hint" }, this.t.hint));
      try { this.turns = JSON.parse(sessionStorage.getItem(this.storageKey) || "[]"); } catch { this.turns = []; }
      if (!Array.isArray(this.turns)) this.turns = [];
      for (const turn of this.turns) {
        this.log.append(this.userMessage(turn.question));
        const message = this.botMessage();
        if (turn.error) this.showError(message, turn.error);
        else this.showResult(message, turn.result || {});
      }
      this.log.scrollTop = this.log.scrollHeight;
    }
    save() {
      this.turns = this.turns.slice(-MAX_TURNS_KEPT);
      try { sessionStorage.setItem(this.storageKey, JSON.stringify(this.turns)); } catch { /* storage full or off */ }
    }
    reset() {
      this.turns = [];
      this.save();
      this.closeArticle();
      this.log.replaceChildren(h("p", { class: "hint" }, this.t.hint));
      this.input.focus();
    }
    history() {
      return this.turns.filter((turn) => turn.result).slice(-MAX_TURNS_SENT).map((turn) => ({
        question: turn.question,
        answer: turn.result.answer ? turn.result.answer.text : null,
      }));
    }

    // -- asking -------------------------------------------------------------------------------
    async ask(raw) {
      const question = (raw || "").trim();
      if (!question || this.busy) return;
      this.busy = true;
      this.sendButton.disabled = true;
      this.input.value = "";
      this.closeArticle();
      const history = this.history();
      this.log.append(this.userMessage(question));
      const message = this.botMessage();
      message.setAttribute("aria-busy", "true");
      const status = h("p", { class: "status" }, this.t.searching);
      message.append(status);
      this.log.scrollTop = this.log.scrollHeight;
      const turn = { question };
      try {
        let writing = null;
        const result = await this.stream(question, history, (sources) => {
          status.textContent = this.t.answering;
          this.showSources(message, sources.passages, null);
        }, (partial) => {
          // The extractive answer is shown at once; a language model's answer may follow.
          message.replaceChildren();
          this.showResult(message, partial);
        }, (piece) => {
          if (!writing) {
            writing = h("p", { class: "writing", "aria-live": "off" }, "");
            message.prepend(h("p", { class: "status" }, this.t.writing), writing);
          }
          writing.textContent += piece;
        });
        turn.result = result;
        message.replaceChildren();
        this.showResult(message, result);
      } catch (error) {
        turn.error = error.userMessage || this.t.network;
        message.replaceChildren();
        this.showError(message, turn.error);
      } finally {
        message.removeAttribute("aria-busy");
        this.turns.push(turn);
        this.save();
        this.busy = false;
        this.sendButton.disabled = false;
        this.log.scrollTop = this.log.scrollHeight;
        this.input.focus();
      }
    }

    headers(extra) {
      const headers = { ...extra };
      const key = this.getAttribute("api-key");
      if (key) headers["X-API-Key"] = key;
      return headers;
    }

    async stream(question, history, onSources, onAnswer = () => {}, onToken = () => {}) {
      let response;
      try {
        response = await fetch(`${this.endpoint}/v1/ask/stream`, {
          method: "POST", mode: "cors", credentials: "omit",
          headers: this.headers({ "Content-Type": "application/json", Accept: "text/event-stream" }),
          body: JSON.stringify({ question, history }),
        });
      } catch {
        throw this.failure(this.t.network);
      }
      if (!response.ok) throw this.failure(await this.describe(response));
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      const result = { passages: [], answer: null, no_answer_reason: null, generated: null, llm_error: null };
      let buffer = "";
      let done = false;
      for (;;) {
        let chunk;
        try { chunk = await reader.read(); } catch { throw this.failure(this.t.interrupted); }
        if (chunk.done) break;
        buffer += decoder.decode(chunk.value, { stream: true }).replace(/\r\n/g, "\n");
        let boundary;
        while ((boundary = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, boundary);
          buffer = buffer.slice(boundary + 2);
          const { name, data } = parseEvent(block);
          if (name === "sources") { result.passages = data.passages || []; onSources(data); }
          else if (name === "answer") {
            result.answer = data.answer; result.no_answer_reason = data.no_answer_reason; onAnswer({ ...result });
          }
          else if (name === "token") onToken(data.text || "");
          else if (name === "generated") { result.generated = data.generated; result.llm_error = data.llm_error; }
          else if (name === "error") throw this.failure(this.t.server(500));
          else if (name === "done") done = true;
        }
      }
      if (!done) throw this.failure(this.t.interrupted);
      return result;
    }

    failure(userMessage) { const error = new Error(userMessage); error.userMessage = userMessage; return error; }

    async describe(response) {
      const t = this.t;
      if (response.status === 429) return t.rate(response.headers.get("Retry-After") || "60");
      if (response.status === 401 || response.status === 403) return t.auth;
      if (response.status === 503) return t.empty;
      if (response.status >= 400 && response.status < 500) {
        try {
          const body = await response.json();
          if (typeof body.detail === "string") return body.detail;
        } catch { /* not JSON */ }
      }
      return t.server(response.status);
    }

    // -- rendering (text only: archive content never becomes HTML) ---------------------------------
    userMessage(question) {
      return h("div", { class: "msg user" }, h("span", { class: "sr-only" }, `${this.t.you}: `), h("p", {}, question));
    }
    botMessage() {
      const message = h("div", { class: "msg bot" });
      this.log.append(message);
      return message;
    }
    showError(message, text) {
      message.append(h("p", { class: "error", role: "alert" }, text));
    }

    showResult(message, result) {
      const t = this.t;
      const passages = result.passages || [];
      message.append(h("span", { class: "sr-only" }, `${t.kabar}: `));
      if (result.answer && result.generated) this.showGenerated(message, result.generated, passages);
      if (result.answer) {
        const citation = result.answer.citation;
        const span = result.answer.span || null;
        const number = sourceNumber(passages, citation);
        if (result.generated) message.append(h("p", { class: "from-archive" }, `${t.fromArchive}:`));
        // The short answer is the headline; the sentence it sits in stays, with the short answer marked.
        if (span) message.append(h("p", { class: "headline" }, span.text));
        message.append(h("p", { class: "answer" }, ...withSpan(result.answer.text, citation.start, span), " ",
          h("button", { class: "cite", type: "button", "aria-label": t.citation(number),
            onclick: () => this.openArticle(citation, span) }, `[${number}]`)));
        message.append(h("ol", { class: "citations", "aria-label": t.citation(number) },
          h("li", {}, h("button", { type: "button", class: "citation", onclick: () => this.openArticle(citation, span) },
            `[${number}] `, describeSource(citation, this.language)))));
        this.showSources(message, passages, citation);
      } else {
        message.append(h("p", { class: "no-answer" }, t.noAnswer));
        if (passages.length) this.showSources(message, passages, null, t.closest);
      }
      if (result.answer && result.llm_error) {
        message.append(h("p", { class: "llm-error" }, `${t.llmError} (${result.llm_error.split(":")[0]}).`));
      }
    }

    /** The model's answer, claim by claim: a supported claim links to the characters that support it; an
     *  unsupported one is greyed, says so, and links to nothing (it is never shown as a fact). */
    showGenerated(message, generated, passages) {
      const t = this.t;
      const block = h("div", { class: "generated", lang: generated.lang || "" });
      const line = h("p", {});
      for (const claim of generated.claims || []) {
        if (claim.supported && claim.support) {
          const support = claim.support;
          const number = sourceNumber(passages, support);
          line.append(h("span", { class: "claim supported" }, claim.text), " ",
            h("button", { class: "cite", type: "button", "aria-label": t.citation(number),
              onclick: () => this.openArticle(support) }, `[${number}]`), " ");
        } else {
          line.append(h("span", { class: "claim unsupported", title: claim.reason || t.unsupported },
            claim.text, h("span", { class: "sr-only" }, ` (${t.unsupported})`)), " ");
        }
      }
      block.append(line, h("p", { class: "note" }, t.generated));
      message.append(block);
    }

    showSources(message, passages, answerCitation, label) {
      const old = message.querySelector("details.sources");
      if (old) old.remove();
      if (!passages.length) return;
      const items = passages.map((passage, index) => h("li", {},
        h("button", { class: "source", type: "button", onclick: () => this.openArticle(passage.citation) },
          `[${index + 1}] `, describeSource(passage.citation, this.language)),
        h("p", { class: "snippet" }, passage.text),
        (passage.also_reported_by || []).length ? h("p", { class: "meta also" }, `${this.t.also}: `,
          passage.also_reported_by.map((copy) => copy.source || copy.title || copy.article_id).join(", ")) : null));
      const details = h("details", { class: "sources" },
        h("summary", {}, label || this.t.sources(passages.length)), h("ol", {}, items));
      message.append(details);
    }

    // -- the article view, with the cited characters highlighted ----------------------------------
    async openArticle(citation, span = null) {
      const t = this.t;
      this.log.hidden = true;
      this.form.hidden = true;
      this.reader.hidden = false;
      const back = h("button", { class: "icon back", type: "button", onclick: () => this.closeArticle() }, `← ${t.back}`);
      this.reader.replaceChildren(back, h("p", { class: "status" }, t.loading));
      back.focus();
      let article;
      try {
        const response = await fetch(`${this.endpoint}/v1/articles/${encodeURIComponent(citation.article_id)}`, {
          mode: "cors", credentials: "omit", headers: this.headers({}),
        });
        if (response.status === 404) throw this.failure(t.missing);
        if (!response.ok) throw this.failure(await this.describe(response));
        article = await response.json();
      } catch (error) {
        this.reader.replaceChildren(back, h("p", { class: "error", role: "alert" }, error.userMessage || t.network));
        return;
      }
      const text = article.text || "";
      const start = Math.max(0, Math.min(citation.start, text.length));
      const end = Math.max(start, Math.min(citation.end, text.length));
      const mark = h("mark", { tabindex: -1 }, ...withSpan(text.slice(start, end), start, span));
      const page = `${this.endpoint}/articles/${encodeURIComponent(article.id)}#${start}-${end}`;
      const original = article.url ? safeUrl(article.url) : null;
      this.reader.replaceChildren(
        back,
        h("h3", {}, article.title || article.id),
        h("p", { class: "meta" }, describeSource({ ...article, title: null, id: null }, this.language)),
        h("p", { class: "sr-only" }, t.cited),
        h("div", { class: "body" }, text.slice(0, start), mark, text.slice(end)),
        h("p", {}, h("a", { href: page, target: "_blank", rel: "noopener noreferrer" }, t.openPage),
          original ? " · " : null,
          original ? h("a", { href: original, target: "_blank", rel: "noopener noreferrer" }, t.original) : null),
      );
      mark.scrollIntoView({ block: "center" });
    }

    closeArticle() {
      if (!this.reader || this.reader.hidden) return;
      this.reader.hidden = true;
      this.reader.replaceChildren();
      this.log.hidden = false;
      this.form.hidden = false;
      this.input.focus();
    }
  }

  function parseEvent(block) {
    let name = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) name = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    try { return { name, data: JSON.parse(data.join("\n") || "{}") }; } catch { return { name: "error", data: {} }; }
  }

  /** `text` (which starts at article offset `offset`) as nodes, the short answer inside it in <strong>. */
  function withSpan(text, offset, span) {
    if (!span) return [text];
    const start = span.start - offset;
    const end = span.end - offset;
    if (start < 0 || end > text.length || end <= start) return [text];
    return [text.slice(0, start), h("strong", { class: "span" }, text.slice(start, end)), text.slice(end)];
  }

  /** The passage number an answer cites: the passage that holds its characters, else the first of its article. */
  function sourceNumber(passages, citation) {
    let index = passages.findIndex((p) => p.citation.article_id === citation.article_id
      && p.citation.start <= citation.start && citation.end <= p.citation.end);
    if (index < 0) index = passages.findIndex((p) => p.citation.article_id === citation.article_id);
    return index < 0 ? 1 : index + 1;
  }

  function describeSource(item, language) {
    const parts = [];
    const name = item.title || item.article_id || item.id;
    if (name) parts.push(name);
    if (item.source) parts.push(item.source);
    if (item.published) {
      const date = new Date(`${item.published}T00:00:00Z`);
      parts.push(isNaN(date) ? item.published : date.toLocaleDateString(language === "id" ? "id-ID" : "en-GB",
        { year: "numeric", month: "long", day: "numeric", timeZone: "UTC" }));
    }
    return parts.join(" · ");
  }

  customElements.define("kabar-chat", KabarChat);
})();
