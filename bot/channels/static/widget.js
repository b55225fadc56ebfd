/*
 * Chat widget of the municipal citizen assistant (served as /webhooks/widget/widget.js).
 *
 * Embed it with one tag on any page of the municipality's website:
 *
 *   <script src="https://CHAT-SERVER/webhooks/widget/widget.js" data-server="https://CHAT-SERVER"
 *           data-lang="nn" data-municipality="saltvika" defer></script>
 *
 *   data-server        where the assistant runs (default: where this file came from)
 *   data-lang          the page's language: nn, nb or sv (default: <html lang>, else nb)
 *   data-municipality  the municipality's id; keeps conversations of different sites apart
 *
 * Plain JavaScript, no dependencies, no build step. Everything the assistant says comes from the
 * server (domain.yml); this file only has the widget's own interface labels (LABELS below).
 * Every text from the server or from staff is inserted with textContent / text nodes, never as
 * HTML. The conversation (the id and secret the server issued with its first answer, the
 * transcript, open or closed, the language) is kept in sessionStorage, so it survives page loads
 * in the same tab and ends with the tab.
 */
(function () {
  'use strict';

  if (window.__municipalChatWidget) { return; }
  window.__municipalChatWidget = true;

  var LANGS = ['nn', 'nb', 'sv'];
  var LANGUAGE_NAMES = { nn: 'Nynorsk', nb: 'Bokmål', sv: 'Svenska' };
  var MAX_LENGTH = 5000;
  var POLL_MS = 4000;
  var TIMEOUT_MS = 60000;
  var MAX_STORED = 200;

  // Interface labels of the widget itself (buttons, field labels, status and error notes), in
  // each language the widget offers. Citizen-facing answers are NOT here: they come from the
  // assistant (domain.yml) and from staff.
  var LABELS = {
    nn: {
      launcher: 'Chat med kommunen',
      title: 'Chat med kommunen',
      close: 'Lukk',
      language: 'Språk',
      input: 'Skriv meldinga di',
      hint: 'Enter sender, Shift+Enter gir ny linje.',
      send: 'Send',
      transcript: 'Samtale',
      typing: 'Assistenten skriv …',
      staffNew: 'Ny melding frå ein tilsett',
      you: 'Du',
      bot: 'Chat-assistent (robot)',
      staff: 'Tilsett i kommunen (person)',
      errorNetwork: 'Beklagar, vi får ikkje kontakt med chatten akkurat no. Teksten din er teken vare på – prøv å sende han att om litt.',
      errorRejected: 'Beklagar, meldinga kunne ikkje sendast. Teksten din er teken vare på – prøv å skrive han om og send att.',
      errorTooLong: 'Meldinga er for lang. Gjer ho kortare (høgst 5000 teikn) og prøv att.'
    },
    nb: {
      launcher: 'Chat med kommunen',
      title: 'Chat med kommunen',
      close: 'Lukk',
      language: 'Språk',
      input: 'Skriv meldingen din',
      hint: 'Enter sender, Shift+Enter gir ny linje.',
      send: 'Send',
      transcript: 'Samtale',
      typing: 'Assistenten skriver …',
      staffNew: 'Ny melding fra en ansatt',
      you: 'Du',
      bot: 'Chat-assistent (robot)',
      staff: 'Ansatt i kommunen (person)',
      errorNetwork: 'Beklager, vi får ikke kontakt med chatten akkurat nå. Teksten din er tatt vare på – prøv å sende den igjen om litt.',
      errorRejected: 'Beklager, meldingen kunne ikke sendes. Teksten din er tatt vare på – prøv å skrive den om og send igjen.',
      errorTooLong: 'Meldingen er for lang. Gjør den kortere (høyst 5000 tegn) og prøv igjen.'
    },
    sv: {
      launcher: 'Chatta med kommunen',
      title: 'Chatta med kommunen',
      close: 'Stäng',
      language: 'Språk',
      input: 'Skriv ditt meddelande',
      hint: 'Enter skickar, Skift+Enter ger ny rad.',
      send: 'Skicka',
      transcript: 'Samtal',
      typing: 'Assistenten skriver …',
      staffNew: 'Nytt meddelande från en medarbetare',
      you: 'Du',
      bot: 'Chattassistent (robot)',
      staff: 'Medarbetare på kommunen (person)',
      errorNetwork: 'Tyvärr får vi ingen kontakt med chatten just nu. Din text finns kvar – försök skicka den igen om en stund.',
      errorRejected: 'Tyvärr kunde meddelandet inte skickas. Din text finns kvar – försök formulera om det och skicka igen.',
      errorTooLong: 'Meddelandet är för långt. Gör det kortare (högst 5000 tecken) och försök igen.'
    }
  };

  // ---- configuration from the script tag -------------------------------------------------

  var script = document.currentScript;
  if (!script) {
    var scripts = document.querySelectorAll('script[src*="/webhooks/widget/widget.js"]');
    script = scripts[scripts.length - 1] || null;
  }
  var data = (script && script.dataset) || {};

  function scriptOrigin() {
    try { return new URL(script.src, document.baseURI).origin; } catch (e) { return window.location.origin; }
  }

  function normalLang(value) {
    var v = String(value || '').toLowerCase();
    if (LANGS.indexOf(v) >= 0) { return v; }
    if (v.indexOf('nn') === 0) { return 'nn'; }
    if (v.indexOf('sv') === 0) { return 'sv'; }
    if (v.indexOf('nb') === 0 || v.indexOf('no') === 0) { return 'nb'; }
    return null;
  }

  var SERVER = String(data.server || scriptOrigin()).replace(/\/+$/, '');
  var PAGE_LANG = normalLang(data.lang) || normalLang(document.documentElement.lang) || 'nb';
  var MUNICIPALITY = String(data.municipality || 'default').replace(/[^A-Za-z0-9_-]/g, '') || 'default';
  var STORAGE_KEY = 'municipal-chat:' + MUNICIPALITY;
  var ID = 'mcw-' + MUNICIPALITY;

  // ---- state, kept in sessionStorage ------------------------------------------------------

  var memoryStore = null;
  function loadState() {
    var raw = null;
    try { raw = window.sessionStorage.getItem(STORAGE_KEY); } catch (e) { raw = memoryStore; }
    var saved = null;
    try { saved = raw ? JSON.parse(raw) : null; } catch (e) { saved = null; }
    // The server issues the conversation id and its secret with the first answer.
    var state = {
      sender: '', secret: '', open: false, lang: PAGE_LANG, greeted: false,
      pendingLang: true, transcript: [], seenStaff: []
    };
    if (saved && typeof saved === 'object' && /^[0-9a-f]{32}$/.test(saved.sender || '') &&
        typeof saved.secret === 'string' && saved.secret) {
      state.sender = saved.sender;
      state.secret = saved.secret;
      state.open = saved.open === true;
      state.lang = normalLang(saved.lang) || PAGE_LANG;
      state.greeted = saved.greeted === true;
      state.pendingLang = saved.pendingLang === true;
      state.transcript = Array.isArray(saved.transcript) ? saved.transcript.filter(validEntry) : [];
      state.seenStaff = Array.isArray(saved.seenStaff) ? saved.seenStaff.slice(-100) : [];
    }
    return state;
  }

  function validEntry(entry) {
    return entry && typeof entry.text === 'string' && ['user', 'bot', 'staff'].indexOf(entry.who) >= 0;
  }

  function saveState() {
    state.transcript = state.transcript.slice(-MAX_STORED);
    var raw = JSON.stringify(state);
    try { window.sessionStorage.setItem(STORAGE_KEY, raw); } catch (e) { memoryStore = raw; }
  }

  var state = loadState();
  var busy = false;
  var pollTimer = null;
  var polling = false;
  var reduceMotion = window.matchMedia ? window.matchMedia('(prefers-reduced-motion: reduce)') : null;
  var fullScreen = window.matchMedia ? window.matchMedia('(max-width: 30em), (max-height: 30em)') : null;

  function label(name, lang) { return (LABELS[lang || state.lang] || LABELS.nb)[name]; }

  // ---- building the interface (DOM methods only) ------------------------------------------

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      for (var key in attrs) {
        if (Object.prototype.hasOwnProperty.call(attrs, key) && attrs[key] !== null && attrs[key] !== undefined) {
          if (key === 'text') { node.textContent = attrs[key]; } else { node.setAttribute(key, attrs[key]); }
        }
      }
    }
    (children || []).forEach(function (child) { if (child) { node.appendChild(child); } });
    return node;
  }

  function icon(paths) {
    var ns = 'http://www.w3.org/2000/svg';
    var svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    svg.setAttribute('class', 'mcw-icon');
    paths.forEach(function (d) {
      var path = document.createElementNS(ns, 'path');
      path.setAttribute('d', d);
      svg.appendChild(path);
    });
    return svg;
  }

  var ui = {};

  function build() {
    ui.launcherText = el('span', { 'class': 'mcw-launcher-text' });
    ui.launcher = el('button', {
      type: 'button', 'class': 'mcw-launcher', 'aria-expanded': 'false', 'aria-controls': ID + '-panel'
    }, [icon(['M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z']), ui.launcherText]);

    ui.title = el('h2', { 'class': 'mcw-title', id: ID + '-title' });
    ui.close = el('button', { type: 'button', 'class': 'mcw-close' },
      [icon(['M6 6l12 12M18 6L6 18']), ui.closeText = el('span', {})]);
    ui.langLabel = el('label', { 'for': ID + '-lang', 'class': 'mcw-lang-label' });
    ui.langSelect = el('select', { id: ID + '-lang', 'class': 'mcw-lang-select' });
    LANGS.forEach(function (code) {
      ui.langSelect.appendChild(el('option', { value: code, lang: code, text: LANGUAGE_NAMES[code] }));
    });
    var header = el('div', { 'class': 'mcw-header' }, [
      el('div', { 'class': 'mcw-header-top' }, [ui.title, ui.close]),
      el('div', { 'class': 'mcw-lang' }, [ui.langLabel, ui.langSelect])
    ]);

    ui.transcript = el('ol', { 'class': 'mcw-transcript', tabindex: '0', id: ID + '-transcript' });
    // A status message (WCAG 4.1.3): the role="status" region is always there and gets its text
    // ("the assistant is typing") while an answer is on its way.
    ui.typing = el('p', { 'class': 'mcw-typing', role: 'status' });
    ui.error = el('p', { 'class': 'mcw-error', id: ID + '-error', hidden: '' });

    ui.inputLabel = el('label', { 'for': ID + '-input', 'class': 'mcw-input-label' });
    ui.input = el('textarea', {
      id: ID + '-input', 'class': 'mcw-input', rows: '2', maxlength: String(MAX_LENGTH),
      autocomplete: 'off', 'aria-describedby': ID + '-hint ' + ID + '-error'
    });
    ui.hint = el('p', { 'class': 'mcw-hint', id: ID + '-hint' });
    ui.send = el('button', { type: 'submit', 'class': 'mcw-send' });
    ui.form = el('form', { 'class': 'mcw-form', novalidate: '' }, [
      ui.inputLabel,
      el('div', { 'class': 'mcw-form-row' }, [ui.input, ui.send]),
      ui.hint
    ]);

    ui.panel = el('div', {
      'class': 'mcw-panel', id: ID + '-panel', role: 'dialog', 'aria-labelledby': ID + '-title', hidden: ''
    }, [header, ui.transcript, ui.typing, ui.error, ui.form]);

    // Polite live region outside the panel: it exists before anything is announced.
    ui.live = el('div', { 'class': 'mcw-sr-only', 'aria-live': 'polite', 'aria-relevant': 'additions' });

    ui.root = el('div', { 'class': 'mcw-root', 'data-municipality': MUNICIPALITY, hidden: '' },
      [ui.launcher, ui.panel, ui.live]);
    document.body.appendChild(ui.root);

    ui.launcher.addEventListener('click', function () { if (state.open) { closePanel(); } else { openPanel(true); } });
    ui.close.addEventListener('click', closePanel);
    ui.panel.addEventListener('keydown', onPanelKeydown);
    ui.langSelect.addEventListener('change', function () { chooseLanguage(ui.langSelect.value); });
    ui.form.addEventListener('submit', function (event) { event.preventDefault(); submitTyped(); });
    ui.input.addEventListener('keydown', function (event) {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        submitTyped();
      }
    });
    if (fullScreen) {
      var onChange = function () { updateModal(); };
      if (fullScreen.addEventListener) { fullScreen.addEventListener('change', onChange); } else { fullScreen.addListener(onChange); }
    }
  }

  function applyLabels() {
    var lang = state.lang;
    ui.root.setAttribute('lang', lang);
    ui.launcherText.textContent = label('launcher');
    ui.title.textContent = label('title');
    ui.closeText.textContent = label('close');
    ui.langLabel.textContent = label('language');
    ui.langSelect.value = lang;
    ui.transcript.setAttribute('aria-label', label('transcript'));
    if (ui.typing.firstChild) { setTyping(true); }
    ui.inputLabel.textContent = label('input');
    ui.hint.textContent = label('hint');
    ui.send.textContent = label('send');
  }

  // ---- messages ---------------------------------------------------------------------------

  var URL_PATTERN = /(https?:\/\/[^\s<>"']+|[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})/g;
  var TRAILING = /[.,;:!?»”’'")\]]+$/;

  // Text with web addresses and e-mail addresses as links; everything else stays plain text.
  function linkify(container, text) {
    var last = 0;
    text.replace(URL_PATTERN, function (match, _group, offset) {
      var candidate = match;
      var trailing = '';
      var cut = candidate.match(TRAILING);
      if (cut) {
        trailing = cut[0];
        candidate = candidate.slice(0, candidate.length - trailing.length);
        // Keep a closing parenthesis that belongs to the address, as in ...wiki/Foo_(bar).
        while (trailing.charAt(0) === ')' && count(candidate, '(') > count(candidate, ')')) {
          candidate += ')';
          trailing = trailing.slice(1);
        }
      }
      var href = safeHref(candidate);
      if (!href) { return match; }
      container.appendChild(document.createTextNode(text.slice(last, offset)));
      container.appendChild(el('a', { href: href, 'class': 'mcw-link', text: candidate }));
      last = offset + candidate.length;
      return match;
    });
    container.appendChild(document.createTextNode(text.slice(last)));
  }

  function count(text, ch) { return text.split(ch).length - 1; }

  function safeHref(candidate) {
    if (candidate.indexOf('@') > 0 && !/^https?:/i.test(candidate)) { return 'mailto:' + candidate; }
    try {
      var url = new URL(candidate);
      return (url.protocol === 'https:' || url.protocol === 'http:') ? url.href : null;
    } catch (e) { return null; }
  }

  function renderEntry(entry) {
    var lang = normalLang(entry.lang) || state.lang;
    var item = el('li', { 'class': 'mcw-msg mcw-msg--' + entry.who, lang: lang });
    item.appendChild(el('span', { 'class': 'mcw-who', text: label(entry.who === 'user' ? 'you' : entry.who, lang) }));
    var body = el('p', { 'class': 'mcw-text' });
    linkify(body, entry.text);
    item.appendChild(body);
    var buttons = Array.isArray(entry.buttons) ? entry.buttons.filter(function (b) {
      return b && typeof b.title === 'string' && typeof b.payload === 'string';
    }) : [];
    if (buttons.length) {
      var group = el('div', { 'class': 'mcw-buttons' });
      buttons.forEach(function (button) {
        var b = el('button', { type: 'button', 'class': 'mcw-choice', text: button.title });
        b.addEventListener('click', function () { sendMessage(button.payload, button.title, { fromButton: true }); });
        group.appendChild(b);
      });
      item.appendChild(group);
    }
    ui.transcript.appendChild(item);
    return item;
  }

  function addEntry(entry, announce) {
    state.transcript.push(entry);
    saveState();
    var item = renderEntry(entry);
    if (announce) { announceEntry(entry); }
    return item;
  }

  function announceEntry(entry) {
    var lang = normalLang(entry.lang) || state.lang;
    var text = entry.who === 'staff' ? label('staffNew', lang) + ': ' + entry.text : entry.text;
    ui.live.appendChild(el('p', { lang: lang, text: text }));
    while (ui.live.childNodes.length > 3) { ui.live.removeChild(ui.live.firstChild); }
  }

  // Shows the newest messages. firstReply: the first of the answers that just came in; the
  // transcript then scrolls no further than to where it begins, so a long answer is read from
  // its start. On low screens and at high zoom the whole panel scrolls, to its end, so that the
  // input stays in view with the newest message just above it.
  function scrollToLatest(firstReply) {
    var behavior = reduceMotion && reduceMotion.matches ? 'auto' : 'smooth';
    var box = ui.transcript;
    if (box.scrollHeight > box.clientHeight + 1) {
      var top = box.scrollHeight;
      if (firstReply) {
        var start = box.scrollTop + firstReply.getBoundingClientRect().top - box.getBoundingClientRect().top - 8;
        top = Math.min(top, Math.max(0, start));
      }
      scrollBox(box, top, behavior);
    }
    if (ui.panel.scrollHeight > ui.panel.clientHeight + 1) { scrollBox(ui.panel, ui.panel.scrollHeight, behavior); }
  }

  function scrollBox(box, top, behavior) {
    if (box.scrollTo) { box.scrollTo({ top: top, behavior: behavior }); } else { box.scrollTop = top; }
  }

  function renderTranscript() {
    while (ui.transcript.firstChild) { ui.transcript.removeChild(ui.transcript.firstChild); }
    state.transcript.forEach(renderEntry);
    ui.transcript.scrollTop = ui.transcript.scrollHeight;
  }

  function showError(kind, text, lang) {
    // text: the server's own wording (a refused message names where to call), else our label.
    text = text || label(kind);
    lang = lang || state.lang;
    ui.error.textContent = text;
    ui.error.setAttribute('lang', lang);
    ui.error.hidden = false;
    ui.live.appendChild(el('p', { lang: lang, text: text }));
  }

  function clearError() { ui.error.hidden = true; ui.error.textContent = ''; }

  function setTyping(on) {
    while (ui.typing.firstChild) { ui.typing.removeChild(ui.typing.firstChild); }
    if (!on) { return; }
    ui.typing.appendChild(el('span', { 'class': 'mcw-dots', 'aria-hidden': 'true' }, [el('span'), el('span'), el('span')]));
    ui.typing.appendChild(el('span', { lang: state.lang, text: label('typing') }));
  }

  // ---- talking to the server --------------------------------------------------------------

  function post(message, metadata, retried) {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, TIMEOUT_MS) : null;
    var body = { message: message };
    var headers = { 'Content-Type': 'application/json' };
    if (state.sender) {
      body.sender = state.sender;
      headers['X-Conversation-Secret'] = state.secret;
    }
    if (metadata) { body.metadata = metadata; }
    return fetch(SERVER + '/webhooks/widget/webhook', {
      method: 'POST',
      headers: headers,
      body: JSON.stringify(body),
      credentials: 'omit',
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      if (response.status === 401 && !retried) {
        // The server no longer knows this conversation: start a new one, once.
        state.sender = '';
        state.secret = '';
        saveState();
        return post(message, metadata, true);
      }
      if (response.status === 429) {
        // Too many messages: the server words the refusal (with the emergency numbers).
        return response.json().catch(function () { return []; }).then(function (messages) {
          var refused = new Error('HTTP 429');
          refused.status = 429;
          refused.messages = Array.isArray(messages) ? messages : [];
          throw refused;
        });
      }
      if (!response.ok) {
        var problem = new Error('HTTP ' + response.status);
        problem.status = response.status;
        throw problem;
      }
      var issued = response.headers.get('X-Conversation-Id');
      var secret = response.headers.get('X-Conversation-Secret');
      if (issued && secret) {
        state.sender = issued;
        state.secret = secret;
        saveState();
      }
      return response.json();
    }).finally(function () { if (timer) { clearTimeout(timer); } });
  }

  /*
   * Sends a message. options.silent: no bubble for the citizen's own message (the greeting and
   * the language choice). options.display: what the bubble shows (a button's title).
   * A language the citizen chose in the widget goes along once as metadata {language: ...}: the
   * assistant takes it as an explicit request; afterwards the widget follows the language the
   * assistant reports with its answers (it may switch when the citizen writes another language).
   */
  function sendMessage(message, display, options) {
    options = options || {};
    if (busy) { return false; }
    busy = true;
    clearError();
    var sentLang = state.pendingLang;
    var langAtSend = state.lang;
    var bubble = null;
    if (!options.silent) {
      bubble = addEntry({ who: 'user', text: display || message, lang: langAtSend }, false);
      scrollToLatest(null);
    }
    setTyping(true);
    post(message, sentLang ? { language: langAtSend } : null).then(function (messages) {
      if (sentLang && state.lang === langAtSend) { state.pendingLang = false; }
      state.greeted = true;
      var reported = null;
      (Array.isArray(messages) ? messages : []).forEach(function (m) {
        if (m && m.lang && normalLang(m.lang)) { reported = normalLang(m.lang); }
      });
      if (reported && reported !== state.lang && !state.pendingLang) {
        state.lang = reported;
        applyLabels();
      }
      var firstReply = null;
      (Array.isArray(messages) ? messages : []).forEach(function (m) {
        if (!m || (typeof m.text !== 'string' && !m.buttons && !m.image)) { return; }
        var buttons = Array.isArray(m.buttons) ? m.buttons.filter(function (b) {
          return b && typeof b.title === 'string' && typeof b.payload === 'string';
        }).map(function (b) { return { title: b.title, payload: b.payload }; }) : [];
        var text = typeof m.text === 'string' ? m.text : '';
        if (typeof m.image === 'string') { text = (text ? text + '\n' : '') + m.image; }
        var item = addEntry({ who: 'bot', text: text, lang: normalLang(m.lang) || state.lang, buttons: buttons }, true);
        firstReply = firstReply || item;
      });
      if (firstReply) { scrollToLatest(firstReply); }
      saveState();
      if (options.onSuccess) { options.onSuccess(); }
    }).catch(function (problem) {
      if (bubble) {
        state.transcript.pop();
        bubble.parentNode.removeChild(bubble);
        saveState();
      }
      var status = problem && problem.status;
      var said = (problem && problem.messages || []).filter(function (m) { return m && typeof m.text === 'string'; })[0];
      showError(status === 413 ? 'errorTooLong' : (status >= 400 && status < 500 ? 'errorRejected' : 'errorNetwork'),
        said && said.text, said && normalLang(said.lang));
      if (options.onFailure) { options.onFailure(); }
    }).finally(function () {
      // A language chosen while a message was on its way stays pending: it goes with the next one.
      busy = false;
      setTyping(false);
    });
    return true;
  }

  function submitTyped() {
    var text = ui.input.value;
    if (!text.trim() || busy) { return; }
    ui.input.value = '';
    sendMessage(text, text, {
      onFailure: function () {
        // Keep what the citizen wrote: put it back unless they have started on something new.
        if (!ui.input.value) { ui.input.value = text; }
      }
    });
  }

  function greet() {
    if (state.greeted || busy) { return; }
    sendMessage('/greet', null, { silent: true });
  }

  function chooseLanguage(lang) {
    if (LANGS.indexOf(lang) < 0 || lang === state.lang) { return; }
    state.lang = lang;
    state.pendingLang = true;
    saveState();
    applyLabels();
    if (!state.greeted) { greet(); return; }
    // The assistant confirms the new language (utter_language_changed) in that language.
    if (!busy) { sendMessage('/change_language', null, { silent: true }); }
  }

  function poll() {
    if (polling || !state.open || !state.sender) { return; }
    polling = true;
    fetch(SERVER + '/webhooks/outbox/messages?channel=widget&sender=' + encodeURIComponent(state.sender), {
      credentials: 'omit', headers: { 'X-Conversation-Secret': state.secret }
    })
      .then(function (response) { return response.ok ? response.json() : { messages: [] }; })
      .then(function (body) {
        var firstReply = null;
        (body && Array.isArray(body.messages) ? body.messages : []).forEach(function (m) {
          if (!m || typeof m.text !== 'string' || state.seenStaff.indexOf(m.id) >= 0) { return; }
          state.seenStaff.push(m.id);
          var item = addEntry({ who: 'staff', text: m.text, lang: state.lang }, true);
          firstReply = firstReply || item;
        });
        if (firstReply) { scrollToLatest(firstReply); }
      })
      .catch(function () { /* the next poll tries again */ })
      .finally(function () { polling = false; });
  }

  function startPolling() {
    stopPolling();
    poll();
    pollTimer = setInterval(poll, POLL_MS);
  }

  function stopPolling() { if (pollTimer) { clearInterval(pollTimer); pollTimer = null; } }

  // ---- opening, closing, keyboard ---------------------------------------------------------

  function updateModal() {
    var modal = !!(fullScreen && fullScreen.matches);
    if (modal) { ui.panel.setAttribute('aria-modal', 'true'); } else { ui.panel.removeAttribute('aria-modal'); }
    ui.root.classList.toggle('mcw-fullscreen', modal);
  }

  function openPanel(moveFocus) {
    state.open = true;
    saveState();
    updateModal();
    ui.panel.hidden = false;
    ui.launcher.setAttribute('aria-expanded', 'true');
    ui.root.classList.add('mcw-open');
    // Let the browser draw the closed state first so the (optional) transition runs.
    window.requestAnimationFrame(function () { ui.panel.classList.add('mcw-panel--shown'); });
    ui.transcript.scrollTop = ui.transcript.scrollHeight;
    ui.panel.scrollTop = ui.panel.scrollHeight;
    if (moveFocus) { ui.input.focus(); }
    greet();
    startPolling();
  }

  function closePanel() {
    state.open = false;
    saveState();
    stopPolling();
    ui.panel.classList.remove('mcw-panel--shown');
    ui.panel.hidden = true;
    ui.root.classList.remove('mcw-open');
    ui.launcher.setAttribute('aria-expanded', 'false');
    ui.launcher.focus();
  }

  function focusables() {
    var nodes = ui.panel.querySelectorAll('button, select, textarea, a[href], [tabindex="0"]');
    return Array.prototype.filter.call(nodes, function (node) {
      return !node.disabled && node.getClientRects().length > 0;
    });
  }

  function onPanelKeydown(event) {
    if (event.key === 'Escape' || event.key === 'Esc') {
      event.preventDefault();
      event.stopPropagation();
      closePanel();
      return;
    }
    // Full screen (narrow or low screens, high zoom) the panel is modal: Tab stays inside it.
    if (event.key === 'Tab' && fullScreen && fullScreen.matches) {
      var list = focusables();
      if (!list.length) { return; }
      var first = list[0];
      var last = list[list.length - 1];
      if (event.shiftKey && document.activeElement === first) { event.preventDefault(); last.focus(); }
      else if (!event.shiftKey && document.activeElement === last) { event.preventDefault(); first.focus(); }
    }
  }

  // ---- start ------------------------------------------------------------------------------

  function start() {
    build();
    applyLabels();
    renderTranscript();
    var link = el('link', { rel: 'stylesheet', href: SERVER + '/webhooks/widget/widget.css' });
    var shown = false;
    var show = function () {
      if (shown) { return; }
      shown = true;
      ui.root.hidden = false;
      // Restore an open panel after a page load, without taking the focus from the page; but not
      // where it would fill the screen (phones, high zoom) and hide the page the citizen came to.
      if (state.open && !(fullScreen && fullScreen.matches)) { openPanel(false); }
    };
    link.addEventListener('load', show);
    link.addEventListener('error', show);
    setTimeout(show, 3000);
    document.head.appendChild(link);
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
