-- File names that are not valid UTF-8 (issue 13): paths are stored in a lossless text form
-- (src/storage/raw-path.ts, man immich-import "FILE NAMES"): a byte that is not part of valid UTF-8 is
-- U+FFFD followed by its two hex digits, and a U+FFFD that a name really holds is written the same
-- way, byte by byte (U+FFFD EF U+FFFD BF U+FFFD BD). Until now such names were never imported, so a
-- U+FFFD in a stored path is one the name holds: rewritten in the new form.
update assets set original_path = replace(original_path, U&'\FFFD', U&'\FFFDEF\FFFDBF\FFFDBD') where strpos(original_path, U&'\FFFD') > 0;
update assets set original_name = replace(original_name, U&'\FFFD', U&'\FFFDEF\FFFDBF\FFFDBD') where strpos(original_name, U&'\FFFD') > 0;
update assets set library_path = replace(library_path, U&'\FFFD', U&'\FFFDEF\FFFDBF\FFFDBD') where strpos(library_path, U&'\FFFD') > 0;
update exif set sidecar_path = replace(sidecar_path, U&'\FFFD', U&'\FFFDEF\FFFDBF\FFFDBD') where strpos(sidecar_path, U&'\FFFD') > 0;
update asset_offline set original_path = replace(original_path, U&'\FFFD', U&'\FFFDEF\FFFDBF\FFFDBD') where strpos(original_path, U&'\FFFD') > 0;
update asset_sidecars set path = replace(path, U&'\FFFD', U&'\FFFDEF\FFFDBF\FFFDBD') where strpos(path, U&'\FFFD') > 0;
update import_failures set path = replace(path, U&'\FFFD', U&'\FFFDEF\FFFDBF\FFFDBD') where strpos(path, U&'\FFFD') > 0;
update in_place_roots set path = replace(path, U&'\FFFD', U&'\FFFDEF\FFFDBF\FFFDBD') where strpos(path, U&'\FFFD') > 0;
