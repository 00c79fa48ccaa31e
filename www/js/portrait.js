// The optional portrait (age band, language, genres): kept with the history, so it is stored,
// exported and imported with it; whether the model reads it is said by recommend.js.
import { saveHistory } from './history.js';
import { state } from './state.js';
import { $ } from './ui.js';

const AGE_BANDS = ['<18', '18-24', '25-34', '35-44', '45-54', '55+'];

export function renderPortrait() {
  const p = state.history.portrait || {};
  $('age-band').value = p.age_band || '';
  $('language').value = p.language || '';
  $('genres').value = (p.genres || []).join(', ');
}

/** The portrait form's `submit`. */
export async function savePortrait(e) {
  e.preventDefault();
  const age = $('age-band').value;
  const lang = $('language').value.trim().toLowerCase();
  if (lang && !/^[a-z]{2}$/.test(lang)) {
    $('portrait-saved').textContent = 'Language: two letters (ISO 639-1), e.g. “en”.';
    return;
  }
  const portrait = {};
  if (AGE_BANDS.includes(age)) portrait.age_band = age;
  if (lang) portrait.language = lang;
  const genres = $('genres').value.split(',').map((g) => g.trim()).filter(Boolean);
  if (genres.length) portrait.genres = genres;
  state.history.portrait = portrait;
  await saveHistory();
  $('portrait-saved').textContent = 'Saved.';
}
