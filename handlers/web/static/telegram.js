// A Mini App opened from Telegram: Telegram puts the signed initData after
// "#tgWebAppData=" in the address. Post it (with the form's CSRF token) to start a session.
// The only script of the dashboard; nothing else needs one.
(function () {
  "use strict";
  var form = document.getElementById("telegram-sign-in");
  if (!form) return;
  var params = new URLSearchParams(window.location.hash.replace(/^#/, ""));
  var data = params.get("tgWebAppData");
  if (!data) {
    document.getElementById("telegram-waiting").hidden = true;
    document.getElementById("telegram-missing").hidden = false;
    return;
  }
  form.elements["init_data"].value = data;
  // The address keeps no copy of the signed data once it has been read.
  history.replaceState(null, "", window.location.pathname + window.location.search);
  form.submit();
})();
