/*
 * The passkey buttons of the latchkey reference app (app/views/passkeys.ts): each button says in
 * data- attributes where its options come from, where its credential goes and what goes along.
 * A click fetches the options (POST, JSON), hands them to @simplewebauthn/browser (loaded before
 * this file as SimpleWebAuthnBrowser), posts the browser's answer as JSON (same-origin JSON is
 * what the app's CSRF defence asks of a script; a form's token goes along when the page has one), and follows a 2xx answer to its `next`; anything else is said in the button's status
 * line. Buttons stay hidden where the browser has no WebAuthn, or cannot use it (an IP address). Served as a file of the app's own
 * origin: the CSP allows no inline script (SEC-64).
 */
(function () {
  'use strict';
  var webauthn = window.SimpleWebAuthnBrowser;
  if (!webauthn || !webauthn.browserSupportsWebAuthn()) return;
  // Browsers refuse an IP address as RP ID (WebAuthn L2 §5.1.3 needs a domain): no button there.
  if (/^[0-9.]+$|^\[/.test(window.location.hostname)) return;

  /** Goes to `next`; to the page itself by reloading it (a new fragment alone would not). */
  function go(next) {
    var target = new URL(next, window.location.href);
    if (target.pathname === window.location.pathname && target.search === window.location.search) {
      window.location.hash = target.hash;
      window.location.reload();
    } else {
      window.location.assign(target.href);
    }
  }

  function say(button, message) {
    var line = document.getElementById(button.getAttribute('data-status'));
    if (line) line.textContent = message;
  }

  async function post(url, body, csrf) {
    var response = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: csrf ? { 'content-type': 'application/json', accept: 'application/json', 'x-csrf-token': csrf } : { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
    });
    var data = {};
    try {
      data = await response.json();
    } catch (error) {
      data = { message: 'The server answered ' + response.status + '.' };
    }
    return { ok: response.ok, status: response.status, data: data };
  }

  /** The values of the inputs the button names, by their name; a checkbox as true/false. */
  function fieldsOf(button) {
    var body = {};
    var ids = (button.getAttribute('data-fields') || '').split(' ').filter(Boolean);
    for (var i = 0; i < ids.length; i++) {
      var input = document.getElementById(ids[i]);
      if (!input) continue;
      body[input.name] = input.type === 'checkbox' ? input.checked : input.value;
    }
    if (button.hasAttribute('data-send-next')) body.next = button.getAttribute('data-next');
    return body;
  }

  async function run(button) {
    var token = document.querySelector('input[name="_csrf"]');
    var csrf = token ? token.value : '';
    var body = fieldsOf(button);
    if (body.password === '') {
      say(button, 'Enter your password first.');
      return;
    }
    say(button, '');
    button.disabled = true;
    try {
      var options = await post(button.getAttribute('data-options'), {}, csrf);
      if (!options.ok) {
        say(button, options.data.message || 'Passkeys are not available right now.');
        return;
      }
      var credential = button.getAttribute('data-passkey') === 'register'
        ? await webauthn.startRegistration({ optionsJSON: options.data })
        : await webauthn.startAuthentication({ optionsJSON: options.data });
      body.credential = credential;
      var answer = await post(button.getAttribute('data-submit'), body, csrf);
      if (!answer.ok) {
        say(button, answer.data.message || 'The passkey was not accepted.');
        return;
      }
      go(answer.data.next || button.getAttribute('data-next'));
    } catch (error) {
      // The user closed the browser's dialog, or no passkey fits: WebAuthn says NotAllowedError.
      say(button, error && error.name === 'NotAllowedError' ? 'No passkey was used.' : 'The passkey could not be used' + (error && error.message ? ': ' + error.message : '.'));
    } finally {
      button.disabled = false;
    }
  }

  var buttons = document.querySelectorAll('button[data-passkey]');
  for (var i = 0; i < buttons.length; i++) {
    (function (button) {
      button.hidden = false;
      button.addEventListener('click', function () {
        void run(button);
      });
    })(buttons[i]);
  }
})();
