namespace MobileUNet.Data;

/// <summary>A finite, indexable set of image + mask pairs, loaded lazily (one sample at a time).</summary>
public interface ISegmentationDataset
{
    string Description { get; }
    int Count { get; }
    SegmentationSample Load(int index);

    /// <summary>
    /// Samples with the same group key must land on the same side of a train / validation split (the same
    /// person in LFW: <c>Name_0001</c> and <c>Name_0002</c>). By default every sample is its own group.
    /// </summary>
    string GroupOf(int index) => index.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>What makes a mask pixel foreground in a folder-pairs dataset.</summary>
public abstract record ForegroundRule
{
    /// <summary>Grey (or red channel) value above 127: the usual 0/255 binary mask.</summary>
    public sealed record Threshold : ForegroundRule;
    /// <summary>Exactly this class value (class-id masks); 255 is then ignored.</summary>
    public sealed record ClassValue(byte Value) : ForegroundRule;
    /// <summary>
    /// A teacher's probability map (value / 255, as <c>data label</c> writes it): labels are value above 127,
    /// and training learns the probability itself as a soft target.
    /// </summary>
    public sealed record SoftProbability : ForegroundRule;

    public static ForegroundRule Binary { get; } = new Threshold();
}

static class DatasetFiles
{
    /// <summary>
    /// Loads an image and its mask file, labelling each mask pixel from one channel of the decoded RGBA
    /// (<paramref name="channel"/> 0..2) through <paramref name="label"/>: the one place a mask file becomes labels.
    /// </summary>
    public static SegmentationSample LoadPair(string imagePath, string maskPath, int channel, Func<byte, byte> label, bool keepSoft = false) =>
        LoadPair(imagePath, maskPath, channel, _ => label, keepSoft);

    /// <summary>As above, with the labelling chosen from the mask channel's maximum value (0/1 masks); with
    /// <paramref name="keepSoft"/> the raw values are also kept as soft targets (a teacher's probability x 255).</summary>
    public static SegmentationSample LoadPair(string imagePath, string maskPath, int channel, Func<byte, Func<byte, byte>> labelForMax, bool keepSoft = false)
    {
        var image = ImageFile.Read(imagePath);
        var raw = ImageFile.Read(maskPath);
        var mask = new Mask(raw.Width, raw.Height, soft: keepSoft ? new byte[(long)raw.Width * raw.Height] : null);
        byte max = 0;
        for (int i = 0; i < mask.Labels.Length; i++) max = Math.Max(max, raw.Pixels[i * 4 + channel]);
        var label = labelForMax(max);
        for (int i = 0; i < mask.Labels.Length; i++)
        {
            byte value = raw.Pixels[i * 4 + channel];
            mask.Labels[i] = label(value);
            if (mask.Soft is { } soft) soft[i] = value;
        }
        return SegmentationSample.Create(Path.GetFileNameWithoutExtension(imagePath), image, mask, maskPath);
    }

    /// <summary>The stem without a trailing <c>_NNNN</c> counter: LFW's person name, the unit of an honest split.</summary>
    public static string PersonKey(string path)
    {
        var stem = Path.GetFileNameWithoutExtension(path);
        int cut = stem.LastIndexOf('_');
        return cut > 0 && cut < stem.Length - 1 && stem.AsSpan(cut + 1).IndexOfAnyExceptInRange('0', '9') < 0 ? stem[..cut] : stem;
    }

    public static string RequireDirectory(string path, string what) =>
        Directory.Exists(path) ? path : throw new DirectoryNotFoundException($"{path}: {what} folder not found.");

    public static Dictionary<string, string> ImagesByStem(string dir, bool recursive = false)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        var files = Directory.EnumerateFiles(dir, "*", recursive ? SearchOption.AllDirectories : SearchOption.TopDirectoryOnly)
            .Where(ImageFile.IsImage).Order(StringComparer.Ordinal);
        foreach (var f in files)
        {
            var stem = Path.GetFileNameWithoutExtension(f);
            if (!map.TryAdd(stem, f)) throw new InvalidDataException($"{f}: two images share the stem '{stem}' ({map[stem]}).");
        }
        return map;
    }

    /// <summary>Pairs images with masks by stem; an image without a mask is an error (not silently skipped).</summary>
    public static List<(string Image, string Mask)> Pair(Dictionary<string, string> images, Dictionary<string, string> masks, string maskDir)
    {
        var pairs = new List<(string, string)>();
        foreach (var (stem, image) in images.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (!masks.TryGetValue(stem, out var mask))
                throw new InvalidDataException($"{image}: no mask named '{stem}.*' in {maskDir}.");
            pairs.Add((image, mask));
        }
        return pairs;
    }
}

/// <summary>
/// <c>ROOT/images/*</c> + <c>ROOT/masks/*</c> matched by file stem. A mask pixel is foreground when its grey
/// (red) value is above 127, or when it equals a chosen class value (then 255 means ignore).
/// </summary>
public sealed class FolderPairsDataset : ISegmentationDataset
{
    readonly List<(string Image, string Mask)> pairs;
    readonly ForegroundRule rule;

    public FolderPairsDataset(string root, ForegroundRule? rule = null)
    {
        DatasetFiles.RequireDirectory(root, "dataset");
        var images = DatasetFiles.RequireDirectory(Path.Combine(root, "images"), "images");
        var masks = DatasetFiles.RequireDirectory(Path.Combine(root, "masks"), "masks");
        pairs = DatasetFiles.Pair(DatasetFiles.ImagesByStem(images), DatasetFiles.ImagesByStem(masks), masks);
        if (pairs.Count == 0) throw new InvalidDataException($"{images}: no images (png, jpg, webp, bmp, ppm).");
        this.rule = rule ?? ForegroundRule.Binary;
        Description = $"folder pairs {root} ({pairs.Count} images)";
    }

    public string Description { get; }
    public int Count => pairs.Count;
    public string GroupOf(int index) => DatasetFiles.PersonKey(pairs[index].Image);

    public SegmentationSample Load(int index)
    {
        var (imagePath, maskPath) = pairs[index];
        return rule switch
        {
            ForegroundRule.ClassValue c => DatasetFiles.LoadPair(imagePath, maskPath, 0,
                v => v == c.Value ? Mask.Foreground : v == 255 ? Mask.Ignore : Mask.Background),
            ForegroundRule.SoftProbability => DatasetFiles.LoadPair(imagePath, maskPath, 0, v => v > 127 ? Mask.Foreground : Mask.Background, keepSoft: true),
            // A mask whose maximum is 1 was stored as 0/1 (class-id style): 1 is its foreground. Read with the
            // > 127 rule it would be all background, and every empty prediction would score as perfect.
            _ => DatasetFiles.LoadPair(imagePath, maskPath, 0, max => max == 1
                ? v => v == 1 ? Mask.Foreground : Mask.Background
                : v => v > 127 ? Mask.Foreground : Mask.Background),
        };
    }
}

/// <summary>
/// PASCAL VOC layout: <c>JPEGImages/*.jpg</c> + <c>SegmentationClass[PNG]/*.png</c> palette masks. The chosen
/// class ids are foreground (person = 15), 255 (the object borders) is ignored, every other class is background.
/// Only images that have a mask are used (VOC ships many unlabelled JPEGs).
/// </summary>
public sealed class VocDataset : ISegmentationDataset
{
    public const byte Person = 15;
    readonly List<(string Image, string Mask)> pairs;
    readonly HashSet<int> classes;

    public VocDataset(string root, IEnumerable<int>? foregroundClasses = null)
    {
        DatasetFiles.RequireDirectory(root, "VOC dataset");
        var images = DatasetFiles.RequireDirectory(Path.Combine(root, "JPEGImages"), "VOC JPEGImages");
        var maskDir = new[] { "SegmentationClassPNG", "SegmentationClass" }.Select(d => Path.Combine(root, d)).FirstOrDefault(Directory.Exists)
                      ?? throw new DirectoryNotFoundException($"{Path.Combine(root, "SegmentationClass")}: VOC mask folder not found.");
        var masks = DatasetFiles.ImagesByStem(maskDir);
        var imageMap = DatasetFiles.ImagesByStem(images);
        // The direction is reversed from folder pairs: every mask needs its image.
        pairs = [];
        foreach (var (stem, mask) in masks.OrderBy(p => p.Key, StringComparer.Ordinal))
            pairs.Add((imageMap.TryGetValue(stem, out var img) ? img : throw new InvalidDataException($"{mask}: no image '{stem}.jpg' in {images}."), mask));
        if (pairs.Count == 0) throw new InvalidDataException($"{maskDir}: no VOC masks.");
        classes = [.. foregroundClasses ?? [Person]];
        if (classes.Count == 0) throw new ArgumentException("VOC classes: no class ids; name at least one foreground class (person is 15).");
        Description = $"VOC {root} ({pairs.Count} images, classes {string.Join(",", classes)})";
    }

    public string Description { get; }
    public int Count => pairs.Count;

    public SegmentationSample Load(int index)
    {
        var (imagePath, maskPath) = pairs[index];
        var image = ImageFile.Read(imagePath);
        var ids = VocPalette.ClassIds(ImageFile.Read(maskPath), maskPath);
        var mask = new Mask(ids.Width, ids.Height);
        for (int i = 0; i < ids.Labels.Length; i++)
            mask.Labels[i] = ids.Labels[i] == 255 ? Mask.Ignore : classes.Contains(ids.Labels[i]) ? Mask.Foreground : Mask.Background;
        return SegmentationSample.Create(Path.GetFileNameWithoutExtension(imagePath), image, mask, maskPath);
    }
}

/// <summary>
/// The PASCAL VOC colour map (also labelme's): class id bits spread over the top bits of R, G, B. It is
/// one-to-one over 0..255, so decoded palette colours map back to class ids exactly.
/// </summary>
public static class VocPalette
{
    static readonly Dictionary<int, byte> IdByColour = Build();

    public static (byte R, byte G, byte B) Colour(int id)
    {
        int r = 0, g = 0, b = 0, c = id;
        for (int j = 0; j < 8; j++, c >>= 3)
        {
            r |= ((c >> 0) & 1) << (7 - j);
            g |= ((c >> 1) & 1) << (7 - j);
            b |= ((c >> 2) & 1) << (7 - j);
        }
        return ((byte)r, (byte)g, (byte)b);
    }

    static Dictionary<int, byte> Build()
    {
        var map = new Dictionary<int, byte>();
        for (int id = 0; id < 256; id++)
        {
            var (r, g, b) = Colour(id);
            map[(r << 16) | (g << 8) | b] = (byte)id;
        }
        return map;
    }

    /// <summary>Class ids of a decoded palette mask; a colour outside the VOC map is an error naming the file.</summary>
    public static Mask ClassIds(RgbaImage decoded, string path)
    {
        var ids = new Mask(decoded.Width, decoded.Height);
        var p = decoded.Pixels;
        for (int i = 0; i < ids.Labels.Length; i++)
        {
            int key = (p[i * 4] << 16) | (p[i * 4 + 1] << 8) | p[i * 4 + 2];
            ids.Labels[i] = IdByColour.TryGetValue(key, out var id)
                ? id
                : throw new InvalidDataException($"{path}: pixel ({i % decoded.Width},{i / decoded.Width}) has colour #{key:x6}, not a VOC palette class.");
        }
        return ids;
    }
}

/// <summary>Which LFW Part Labels channel is the foreground: red = hair (the original's task), green = face/skin, blue = background.</summary>
public enum LfwPart { Hair = 0, Face = 1, Background = 2 }

/// <summary>
/// LFW Part Labels: photos (e.g. <c>lfw_funneled/Name/Name_0001.jpg</c>, searched recursively) and
/// <c>parts_lfw_funneled_gt_images/Name_0001.ppm</c> masks whose R/G/B channels are hair/face/background.
/// Only photos with a mask are used (LFW has many more photos than labels).
/// </summary>
public sealed class LfwPartsDataset : ISegmentationDataset
{
    readonly List<(string Image, string Mask)> pairs;
    readonly LfwPart part;

    public LfwPartsDataset(string imagesRoot, string masksDir, LfwPart part = LfwPart.Hair)
    {
        DatasetFiles.RequireDirectory(imagesRoot, "LFW images");
        DatasetFiles.RequireDirectory(masksDir, "LFW part masks");
        var images = DatasetFiles.ImagesByStem(imagesRoot, recursive: true);
        var masks = DatasetFiles.ImagesByStem(masksDir);
        // LFW ships photos as JPEG and part labels as PPM: swapped or wrong folders would otherwise train photos as masks.
        if (masks.Values.FirstOrDefault(m => !m.EndsWith(".ppm", StringComparison.OrdinalIgnoreCase)) is { } notMask)
            throw new InvalidDataException($"{masksDir}: the LFW mask folder holds {Path.GetFileName(notMask)}, not a .ppm part mask; is this the photo folder?");
        if (images.Values.FirstOrDefault(i => i.EndsWith(".ppm", StringComparison.OrdinalIgnoreCase)) is { } notPhoto)
            throw new InvalidDataException($"{imagesRoot}: the LFW photo folder holds {Path.GetFileName(notPhoto)}, a .ppm part mask, not a photo; is this the mask folder?");
        pairs = [];
        foreach (var (stem, mask) in masks.OrderBy(p => p.Key, StringComparer.Ordinal))
            pairs.Add((images.TryGetValue(stem, out var img) ? img : throw new InvalidDataException($"{mask}: no photo '{stem}.*' under {imagesRoot}."), mask));
        if (pairs.Count == 0) throw new InvalidDataException($"{masksDir}: no .ppm part masks.");
        this.part = part;
        Description = $"LFW parts {masksDir} ({pairs.Count} images, {part})";
    }

    public string Description { get; }
    public int Count => pairs.Count;
    public string GroupOf(int index) => DatasetFiles.PersonKey(pairs[index].Image);

    public SegmentationSample Load(int index)
    {
        var (imagePath, maskPath) = pairs[index];
        return DatasetFiles.LoadPair(imagePath, maskPath, (int)part, v => v > 127 ? Mask.Foreground : Mask.Background);
    }
}
