import sharp from 'sharp'; import fs from 'node:fs';
import { createModel, runtimeSettings } from '/work/main/dist/ml/runtime.js';
import { detectFaces } from '/work/main/dist/ml/faces/detect.js';
import { alignFace } from '/work/main/dist/ml/faces/align.js';
import { embedFaces, embedOptionsFor } from '/work/main/dist/ml/faces/embed.js';
import { MemoryFaceStore, clusterAll, pairwiseScores } from '/work/main/dist/ml/cluster.js';
const C='/work/shared/corpus/'; const labels=JSON.parse(fs.readFileSync(C+'labels.json')).faces;
const det = process.argv[2]; const rec = process.argv[3] ?? 'mobilefacenet_128d.onnx';
const s = runtimeSettings({});
const dm = await createModel('/work/shared/models/face-detection/'+det, s);
const rm = await createModel('/work/shared/models/face-recognition/'+rec, s);
const faces=[];
for (const [file, ids] of Object.entries(labels)) {
  const {data, info} = await sharp(C+file).rotate().resize(1440,1440,{fit:'inside',withoutEnlargement:true}).removeAlpha().raw().toBuffer({resolveWithObject:true});
  const img={data,width:info.width,height:info.height,channels:3};
  const fs_ = await detectFaces(dm, img, {minScore:0.7});
  const embs = await embedFaces(rm, fs_.map(f=>alignFace(img,f.landmarks)), embedOptionsFor(rec));
  let bi=0; fs_.forEach((f,i)=>{ if((f.box[2]-f.box[0])>(fs_[bi].box[2]-fs_[bi].box[0])) bi=i});
  fs_.forEach((f,i)=>{ let label=null;
    if (ids.length===1 && ids[0]!=='unknown') label = i===bi ? ids[0] : null;
    else if (file.includes('curie')) label = 'curie@'+Math.round(f.box[0]/info.width*10);
    else if (ids.every(x=>x==='unknown')) label = 'u:'+file+':'+i;
    faces.push({id:file+'#'+i, file, label, e:embs[i]}); });
}
fs.writeFileSync('/tmp/faces-'+det+'.json', JSON.stringify(faces.map(f=>({...f,e:Array.from(f.e)}))));
for (const md of [0.4,0.45,0.5,0.55,0.6]) for (const mf of [2,3]) {
  const st = new MemoryFaceStore(); faces.forEach(f=>st.add(f.id,f.e));
  await clusterAll(st, faces.map(f=>f.id), {maxDistance:md, minFaces:mf});
  const items = faces.filter(f=>f.label).map(f=>({label:f.label, cluster:st.person.get(f.id)}));
  const sc = pairwiseScores(items);
  // same-photo merges
  let samePhoto=0; for (const a of faces) for (const b of faces) if (a.id<b.id && a.file===b.file && st.person.get(a.id) && st.person.get(a.id)===st.person.get(b.id)) samePhoto++;
  const people = new Set([...st.person.values()].filter(Boolean)).size;
  console.log(`md=${md} mf=${mf} P=${sc.precision.toFixed(3)} R=${sc.recall.toFixed(3)} F1=${sc.f1.toFixed(3)} people=${people} samePhotoMerges=${samePhoto}`);
}
