// Simulator: keep the newest SMS in view and the cursor in the reply box, as on a phone.
(function () {
  "use strict";
  var thread = document.getElementById("sms-thread");
  if (thread) { thread.scrollTop = thread.scrollHeight; }
  var reply = document.getElementById("reply");
  if (reply) { reply.focus(); }
})();
