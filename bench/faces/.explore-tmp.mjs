import sharp from 'sharp';
import fs from 'node:fs';
import { createModel, runtimeSettings } from '/work/main/dist/ml/runtime.js';
import { detectFaces } from '/work/main/dist/ml/faces/detect.js';
import { alignFace } from '/work/main/dist/ml/faces/align.js';
import { embedFaces, embedOptionsFor } from '/work/main/dist/ml/faces/embed.js';
const C='/work/shared/corpus/'; const labels=JSON.parse(fs.readFileSync(C+'labels.json')).faces;
const det = process.argv[2] ?? 'scrfd_500m.onnx';
const minScore = Number(process.argv[3] ?? 0.7);
const s = runtimeSettings({});
const dm = await createModel('/work/shared/models/face-detection/'+det, s);
const rm = await createModel('/work/shared/models/face-recognition/mobilefacenet_128d.onnx', s);
const all=[]; let t0=performance.now(); let ndet=0;
for (const [file, ids] of Object.entries(labels)) {
  const {data, info} = await sharp(C+file).rotate().resize(1440,1440,{fit:'inside',withoutEnlargement:true}).removeAlpha().raw().toBuffer({resolveWithObject:true});
  const img={data,width:info.width,height:info.height,channels:3};
  const faces = await detectFaces(dm, img, {minScore, inputSize: Number(process.env.SZ ?? 640)});
  const crops = faces.map(f=>alignFace(img,f.landmarks));
  const embs = await embedFaces(rm, crops, embedOptionsFor('mobilefacenet'));
  ndet+=faces.length;
  console.log(file, 'labels', ids.length, 'found', faces.length, faces.map(f=>f.score.toFixed(2)+'@'+Math.round(f.box[2]-f.box[0])).join(' '));
  // identity photos: main face = largest
  const named = ids.filter(i=>i!=='unknown');
  if (ids.length===1 && named.length===1 && faces.length) { let bi=0; faces.forEach((f,i)=>{ if((f.box[2]-f.box[0])>(faces[bi].box[2]-faces[bi].box[0])) bi=i}); all.push({id:named[0],file,e:embs[bi]}); }
  else if (named.length) { faces.forEach((f,i)=>all.push({id:'?',file,e:embs[i], w:f.box[2]-f.box[0]})); }
}
console.log('time', (performance.now()-t0).toFixed(0),'ms faces',ndet);
const lab=all.filter(a=>a.id!=='?');
let same=[],diff=[];
for(let i=0;i<lab.length;i++)for(let j=i+1;j<lab.length;j++){let d=0;for(let k=0;k<lab[i].e.length;k++)d+=lab[i].e[k]*lab[j].e[k];(lab[i].id===lab[j].id?same:diff).push([1-d,lab[i].file,lab[j].file]);}
same.sort((a,b)=>b[0]-a[0]);diff.sort((a,b)=>a[0]-b[0]);
console.log('same max dist', same.slice(0,6).map(x=>x[0].toFixed(3)+' '+x[1]+' '+x[2]));
console.log('diff min dist', diff.slice(0,6).map(x=>x[0].toFixed(3)+' '+x[1]+' '+x[2]));
fs.writeFileSync('/tmp/embs-'+det+'.json', JSON.stringify(all.map(a=>({...a,e:Array.from(a.e)}))));
