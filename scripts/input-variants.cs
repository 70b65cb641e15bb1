#:project ../src/MobileUNet/MobileUNet.csproj
#:property TreatWarningsAsErrors=false
#:property PublishAot=false
// One model, one dataset, four ways of making the model's input: what the
// numbers in models/person.md ("Tried at inference") and the README's serve section come from.
//   predict    the photo decoded whole, shrunk with the two-tap bilinear every path uses (eval's own numbers)
//   reduced    a JPEG decoded at a reduced scale, no less than twice the input a side, then the same shrink (serve)
//   antialias  decoded whole, shrunk with a triangle filter widened to the scale (RgbaImage.ResizeAntialiased, as
//              PIL's bilinear; what train --antialias shows the model): not adopted
//   flip       predict's input, averaged with the prediction of its mirror image: not adopted
// Each mask is drawn at the photo's size (threshold: the model's) and scored against the dataset's own labels
// (the library's dataset readers: pixels a dataset ignores, VOC's borders, are not counted), as `eval` scores.
//   [PER_PHOTO=1] dotnet run -c Release scripts/input-variants.cs -- DIR [model=person] [names.txt: only these stems]
// DIR is folder pairs (DIR/images + DIR/masks) or a VOC layout (DIR/JPEGImages: person, class 15, as eval --voc).
using MobileUNet.Data;
using MobileUNet.Inference;

var dir = args[0];
var model = args.Length > 1 ? args[1] : "person";
bool voc = Directory.Exists(Path.Combine(dir, "JPEGImages"));
ISegmentationDataset dataset = voc ? new VocDataset(dir) : new FolderPairsDataset(dir);
var photoDir = Path.Combine(dir, voc ? "JPEGImages" : "images");
bool perPhoto = Environment.GetEnvironmentVariable("PER_PHOTO") == "1";   // each photo's IoU per variant too
var keep = args.Length > 2 ? File.ReadAllLines(args[2]).Select(l => l.Trim()).Where(l => l.Length > 0).ToHashSet() : null;
using var segmenter = ModelSource.Parse(model).Open(new RuntimeOptions());
int s = segmenter.Spec.InputSize;
string[] variants = ["predict", "reduced", "antialias", "flip"];
var perImage = new double[variants.Length];
long[] intersection = new long[variants.Length], union = new long[variants.Length];
int count = 0;

for (int index = 0; index < dataset.Count; index++)
{
    var sample = dataset.Load(index);
    if (keep is not null && !keep.Contains(sample.Name)) continue;
    count++;
    var path = Directory.GetFiles(photoDir, sample.Name + ".*").Single(ImageFile.IsImage);
    var bytes = File.ReadAllBytes(path);
    var whole = sample.Image;
    var small = whole.Resize(s, s).Pixels;
    var probabilities = new[]
    {
        Segment(small),
        Segment(ImageFile.DecodeAtLeast(bytes, path, 2 * s).Pixels.Resize(s, s).Pixels),
        Segment(whole.ResizeAntialiased(s, s).Pixels),
        FlipAveraged(small),
    };
    for (int v = 0; v < variants.Length; v++)
    {
        var mask = ImageSegmentation.MaskBytes(probabilities[v], s, whole.Width, whole.Height, segmenter.Threshold);
        long both = 0, either = 0;
        for (int i = 0; i < mask.Length; i++)
        {
            byte label = sample.Mask.Labels[i];
            if (label == Mask.Ignore) continue;
            bool t = label == Mask.Foreground, p = mask[i] > 0;
            if (t && p) both++;
            if (t || p) either++;
        }
        perImage[v] += either == 0 ? 1 : (double)both / either;
        if (perPhoto) Console.Write($"{(v == 0 ? sample.Name : "")} {variants[v]} {(either == 0 ? 1 : (double)both / either):0.000}{(v == variants.Length - 1 ? "\n" : "")}");
        intersection[v] += both;
        union[v] += either;
    }
}
Console.WriteLine($"{model} on {dir} ({count} photos), mean IoU / pooled IoU:");
for (int v = 0; v < variants.Length; v++)
    Console.WriteLine($"  {variants[v],-10} {perImage[v] / count:0.0000} / {(double)intersection[v] / union[v]:0.0000}");

float[] Segment(byte[] rgba)
{
    var p = new float[s * s];
    segmenter.Segment(rgba, 4, p);
    return p;
}

float[] FlipAveraged(byte[] rgba)
{
    var mirrored = new byte[rgba.Length];
    for (int y = 0; y < s; y++)
        for (int x = 0; x < s; x++)
            rgba.AsSpan((y * s + s - 1 - x) * 4, 4).CopyTo(mirrored.AsSpan((y * s + x) * 4, 4));
    var a = Segment(rgba);
    var b = Segment(mirrored);
    for (int y = 0; y < s; y++)
        for (int x = 0; x < s; x++)
            a[y * s + x] = 0.5f * (a[y * s + x] + b[y * s + s - 1 - x]);
    return a;
}
