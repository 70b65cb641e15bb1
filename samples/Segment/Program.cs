// Segments one photo with a MobileUNet model through the MobileUNet.Core package:
//   dotnet run --project samples/Segment -- MODEL PHOTO [OUTPUT_DIR]
// MODEL is an .onnx export (mobileunet export) or a shipped model's name (person, hair). MobileUNet.Core runs ONNX
// only, without TorchSharp; a .munet checkpoint (mobileunet train) also needs the MobileUNet.Training package.
// Writes PHOTO.mask.png (0/255, the photo's own size) and PHOTO.overlay.png (the mask tinted over the photo).
using MobileUNet.Data;
using MobileUNet.Inference;

if (args.Length is < 2 or > 3)
{
    Console.Error.WriteLine("usage: Segment MODEL PHOTO [OUTPUT_DIR]");
    return 2;
}
var (model, photoPath) = (args[0], args[1]);
var outputDir = args.Length > 2 ? args[2] : ".";
Directory.CreateDirectory(outputDir);

ISegmenter segmenter;
RgbaImage photo;
try
{
    segmenter = SegmenterFactory.Open(model, Backend.Onnx);   // ONNX Runtime
    photo = ImageFile.Read(photoPath);                        // EXIF orientation applied, 8-bit RGBA, size-limited
}
catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException or ArgumentException)
{
    Console.Error.WriteLine(e.Message);                       // one line naming the file and the problem
    return 1;
}
using var _ = segmenter;
float[] probabilities = ImageSegmentation.Probabilities(segmenter, photo);

var stem = Path.Combine(outputDir, Path.GetFileNameWithoutExtension(photoPath));
ImageFile.WriteGreyPng(stem + ".mask.png", photo.Width, photo.Height, ImageSegmentation.MaskBytes(probabilities, segmenter.Threshold));
ImageFile.WritePng(stem + ".overlay.png", ImageSegmentation.Overlay(photo, probabilities, segmenter.Threshold));
Console.WriteLine($"{stem}.mask.png  {stem}.overlay.png ({photo.Width}x{photo.Height}, {probabilities.Count(p => p >= segmenter.Threshold)} foreground pixels)");
return 0;
