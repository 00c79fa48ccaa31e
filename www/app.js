// The page's entry point: it only wires the modules in js/ together. It starts the workers,
// installs the test hook, subscribes the views to changes of the state, attaches every
// listener, and starts. What each part does lives in its module (each says its one job);
// all computation on the audio happens in worker.js, all persistence in store.js, and nothing
// the visitor drops is sent anywhere (the only requests are this origin's static files).
import { cancelBatch } from './js/batch.js';
import { checkBrowser } from './js/browser-check.js';
import { aboutToggled, loadDemo } from './js/demo.js';
import { resetModel, startFineTune, stopFineTune } from './js/finetune.js';
import {
  askForget, cancelForget, exportData, forgetEverything, importData,
} from './js/import-export.js';
import {
  chosen, dragEnded, dragOver, dropped, offerAudioExtensions, pickerClicked,
} from './js/inputs.js';
import { renderLibrary } from './js/library-view.js';
import { start } from './js/load.js';
import { attachListening } from './js/listening.js';
import { playedToTheEnd, playTrack } from './js/playback.js';
import { attachPlayerBar, renderPlayerBar } from './js/player-bar.js';
import { followRecommendations, takeNext } from './js/queue.js';
import { savePortrait } from './js/portrait.js';
import { reloadModel, scheduleRecommend } from './js/recommend.js';
import { changed, onChange, shown } from './js/state.js';
import { testHook } from './js/test-hook.js';
import { $ } from './js/ui.js';
import { onComputeReplaced, startWorkers } from './js/worker-rpc.js';

window.ainrec = testHook();
checkBrowser();
startWorkers();
onComputeReplaced(reloadModel);
// A change of the library or the history redraws the list and asks for new recommendations.
onChange(renderLibrary);
onChange(scheduleRecommend);
onChange(renderPlayerBar);

// Inputs: the two choosers (or, where there are, the pickers with file handles) and the drop zone.
offerAudioExtensions($('file-input'));
for (const [id, kind] of [['file-input', 'files'], ['folder-input', 'folder']]) {
  const input = $(id);
  input.addEventListener('change', () => chosen(input));
  document.querySelector(`label[for="${id}"]`).addEventListener('click', (e) => pickerClicked(e, kind));
}
// Re-link folder (after an import: an export carries no audio): a folder chooser whose files
// only give audio back to tracks of the library.
$('relink-input').addEventListener('change', () => chosen($('relink-input'), { relinkOnly: true }));
document.querySelector('label[for="relink-input"]').addEventListener('click', (e) => pickerClicked(e, 'folder', { relinkOnly: true }));
const dropZone = $('drop-zone');
for (const type of ['dragenter', 'dragover']) dropZone.addEventListener(type, dragOver);
for (const type of ['dragleave', 'drop']) dropZone.addEventListener(type, dragEnded);
dropZone.addEventListener('drop', dropped);
$('cancel').addEventListener('click', cancelBatch);
$('demo-catalog').addEventListener('click', loadDemo);
$('library-search').addEventListener('input', renderLibrary);
$('library-sort').addEventListener('change', renderLibrary);
$('about').addEventListener('toggle', aboutToggled);

// Playback: the list and the player bar redraw on play and pause (the playing row's label);
// listening.js counts plays and skips from the element's time updates; the bar, the media keys
// and the shortcuts drive it.
const audio = $('audio');
attachListening(audio);
attachPlayerBar();
audio.addEventListener('ended', playedToTheEnd);
audio.addEventListener('play', () => changed());
audio.addEventListener('pause', () => changed());
// "Play all recommendations": the first one now, the queue follows the recommendations.
$('play-all').addEventListener('click', async () => {
  followRecommendations();
  scheduleRecommend();
  const first = shown.recommendations[0]?.id ?? takeNext();
  if (first) await playTrack(first);
});

// Recommendations and "Learn my taste".
for (const id of ['diversity', 'diversity-n']) $(id).addEventListener('change', () => scheduleRecommend());
$('finetune-start').addEventListener('click', startFineTune);
$('finetune-stop').addEventListener('click', stopFineTune);
$('reset-model').addEventListener('click', resetModel);

// Your data.
$('portrait').addEventListener('submit', savePortrait);
$('export').addEventListener('click', exportData);
$('import').addEventListener('change', importData);
$('forget').addEventListener('click', askForget);
$('forget-cancel').addEventListener('click', cancelForget);
$('forget-confirm').addEventListener('click', forgetEverything);

start();
