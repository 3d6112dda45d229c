import sharp from 'sharp'; import fs from 'node:fs'; import path from 'node:path';
import { createModel, runtimeSettings } from '/work/main/dist/ml/runtime.js';
import { detectFaces } from '/work/main/dist/ml/faces/detect.js';
const C='/work/shared/corpus/'; const labels=JSON.parse(fs.readFileSync(C+'labels.json')).faces;
const dm = await createModel('/work/shared/models/face-detection/'+process.argv[2], runtimeSettings({}));
const files = fs.readdirSync(C,{recursive:true}).filter(f=>/\.(jpe?g|png|webp)$/i.test(f) && !f.startsWith('broken'));
for (const f of files) { try {
  const {data, info} = await sharp(C+f).rotate().resize(1440,1440,{fit:'inside',withoutEnlargement:true}).removeAlpha().raw().toBuffer({resolveWithObject:true});
  const faces = await detectFaces(dm, {data,width:info.width,height:info.height,channels:3}, {minScore:0.5});
  const low = faces.filter(x=>x.score<0.7);
  const n = labels[f]?.length ?? 0;
  if (low.length || faces.length !== n) console.log(f, 'labels', n, 'found>=.7', faces.length-low.length, 'low', low.map(x=>x.score.toFixed(2)+'@'+Math.round(x.box[2]-x.box[0])).join(' '));
 } catch(e) { console.log(f, 'ERR', e.message) } }
