"""Offline speech from the eSpeak NG library and voices that the espeakng-loader wheel ships (its
shared library loaded with ctypes; no system package): what the offline audio datasets are made of.

    synth = Synthesizer.shared()
    samples = synth.speak("seven", voice="en-us+f3", pitch=60, rate=160)   # int16 at synth.sample_rate

The engine is deterministic: the same text, voice and parameters give the same samples, so a dataset
made from it is bit-identical when regenerated. It holds global state (one voice at a time), so one
Synthesizer serves the process.
"""

from __future__ import annotations

import ctypes
import functools
import threading

import numpy as np

from gan_cli.errors import UserError

SAMPLE_RATE = 22050          # what eSpeak NG produces
_SYNCHRONOUS = 2             # AUDIO_OUTPUT_SYNCHRONOUS: espeak_Synth returns once the callback has every sample
_POSITION_CHARACTER = 1      # POS_CHARACTER
_CHARS_UTF8 = 1              # espeakCHARS_UTF8
_RATE, _VOLUME, _PITCH, _RANGE = 1, 2, 3, 4   # espeak_PARAMETER
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class Synthesizer:
    """The eSpeak NG engine of this process."""

    def __init__(self):
        try:
            import espeakng_loader
        except ImportError:
            raise UserError("The offline speech data needs the espeakng-loader package (eSpeak NG and its voices): "
                            "pip install espeakng-loader (it is one of gan-cli's dependencies).") from None
        self.data_path = espeakng_loader.get_data_path()
        self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self.lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self.lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                          ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        self.sample_rate = self.lib.espeak_Initialize(_SYNCHRONOUS, 0, self.data_path.encode(), 0)
        if self.sample_rate <= 0:
            raise UserError(f"eSpeak NG did not start with the voice data in {self.data_path} (espeak_Initialize "
                            f"returned {self.sample_rate}); reinstall espeakng-loader.")
        self._chunks: list[np.ndarray] = []
        self._callback = _CALLBACK(self._collect)  # kept alive as long as the engine may call it
        self.lib.espeak_SetSynthCallback(self._callback)
        self._lock = threading.Lock()

    @classmethod
    @functools.lru_cache(maxsize=1)
    def shared(cls) -> Synthesizer:
        return cls()

    def _collect(self, wav, count, events) -> int:
        if count > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        return 0

    def speak(self, text: str, voice: str = "en-us", pitch: int = 50, rate: int = 175, volume: int = 100,
              pitch_range: int = 50) -> np.ndarray:
        """`text` spoken by `voice` (a language with an optional +variant: en-us+f3), as int16 samples.

        pitch and pitch_range 0-100, rate in words per minute (80-450), volume 0-200."""
        with self._lock:
            if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise UserError(f"voice {voice!r} is not one of eSpeak NG's voices (a language such as en-us or "
                                f"en-gb-x-rp, with an optional +variant such as +f3 or +m2).")
            for parameter, value in ((_PITCH, pitch), (_RATE, rate), (_VOLUME, volume), (_RANGE, pitch_range)):
                self.lib.espeak_SetParameter(parameter, int(value), 0)
            self._chunks.clear()
            encoded = text.encode("utf-8") + b"\0"
            error = self.lib.espeak_Synth(encoded, len(encoded), 0, _POSITION_CHARACTER, 0, _CHARS_UTF8, None, None)
            self.lib.espeak_Synchronize()
            if error != 0:
                raise UserError(f"eSpeak NG could not speak {text!r} with voice {voice!r} (error {error}).")
            return np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
