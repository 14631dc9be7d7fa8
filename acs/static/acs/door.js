/* The door: read the QR code with the device camera where the browser can (BarcodeDetector),
   and keep the tablet ready for the next person. Without this script the page still works:
   type the code and press Check. Every text shown comes from the page (data-msg-*), so it is
   translated with the rest of the site. No inline code (CSP: script-src 'self'). */
(function () {
  "use strict";

  var CAMERA_KEY = "acs-door-camera"; // remembered for the session: reopen after "Next"
  var SCAN_EVERY_MS = 200;

  function remember(on) {
    try {
      if (on) {
        window.sessionStorage.setItem(CAMERA_KEY, "on");
      } else {
        window.sessionStorage.removeItem(CAMERA_KEY);
      }
    } catch (error) {
      /* storage refused (private mode): the camera just won't reopen by itself */
    }
  }

  function remembered() {
    try {
      return window.sessionStorage.getItem(CAMERA_KEY) === "on";
    } catch (error) {
      return false;
    }
  }

  function canScan() {
    if (!("BarcodeDetector" in window)) {
      return Promise.resolve(false);
    }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return Promise.resolve(false);
    }
    return window.BarcodeDetector.getSupportedFormats()
      .then(function (formats) {
        return formats.indexOf("qr_code") !== -1;
      })
      .catch(function () {
        return false;
      });
  }

  function setUpCamera(section) {
    var form = document.querySelector("[data-door-form]");
    var input = form && form.querySelector("input[name=code]");
    var start = section.querySelector("[data-door-camera-start]");
    var stop = section.querySelector("[data-door-camera-stop]");
    var viewfinder = section.querySelector("[data-door-viewfinder]");
    var status = section.querySelector("[data-door-camera-status]");
    var detector = null;
    var stream = null;
    var video = null;
    var timer = null;
    var busy = false;

    function say(key) {
      status.textContent = section.getAttribute("data-msg-" + key) || "";
    }

    function showRunning(running) {
      start.hidden = running;
      stop.hidden = !running;
      viewfinder.hidden = !running;
    }

    function halt() {
      if (timer !== null) {
        window.clearInterval(timer);
        timer = null;
      }
      if (stream) {
        stream.getTracks().forEach(function (track) {
          track.stop();
        });
        stream = null;
      }
      if (video) {
        video.remove();
        video = null;
      }
      showRunning(false);
    }

    function found(value) {
      halt();
      say("found");
      input.value = value.trim();
      if (typeof form.requestSubmit === "function") {
        form.requestSubmit();
      } else {
        form.submit();
      }
    }

    function scan() {
      if (busy || !video || video.readyState < 2) {
        return;
      }
      busy = true;
      detector
        .detect(video)
        .then(function (codes) {
          busy = false;
          if (codes.length && codes[0].rawValue) {
            found(codes[0].rawValue);
          }
        })
        .catch(function () {
          busy = false;
        });
    }

    function begin() {
      say("starting");
      detector = detector || new window.BarcodeDetector({ formats: ["qr_code"] });
      navigator.mediaDevices
        .getUserMedia({ video: { facingMode: "environment" }, audio: false })
        .then(function (media) {
          stream = media;
          // Made here, not in the page: a <video> with no camera behind it would only
          // confuse a screen reader.
          video = document.createElement("video");
          video.setAttribute("playsinline", "");
          video.setAttribute("aria-label", section.getAttribute("data-label-video") || "");
          video.muted = true;
          video.srcObject = media;
          viewfinder.appendChild(video);
          showRunning(true);
          remember(true);
          say("scanning");
          return video.play();
        })
        .then(function () {
          timer = window.setInterval(scan, SCAN_EVERY_MS);
        })
        .catch(function () {
          halt();
          remember(false);
          say("failed");
          input.focus();
        });
    }

    start.addEventListener("click", begin);
    stop.addEventListener("click", function () {
      halt();
      remember(false);
      say("stopped");
      input.focus();
    });
    // Leaving the page (the form submits, or "Next") must always free the camera.
    window.addEventListener("pagehide", halt);

    section.hidden = false;
    if (remembered()) {
      begin();
    }
  }

  function init() {
    var section = document.querySelector("[data-door-camera]");
    if (section) {
      canScan().then(function (yes) {
        if (yes) {
          setUpCamera(section);
        }
      });
    }
    // The answer screen: put the focus on "Next" (without scrolling the verdict away) so a
    // keyboard, a switch or a hardware scanner's Enter goes straight back to the door.
    var next = document.querySelector("[data-door-next]");
    if (next && !document.querySelector(".usa-input--error, .usa-form-group--error")) {
      next.focus({ preventScroll: true });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
