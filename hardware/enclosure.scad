// sacrum enclosure: a box and a lid for an ESP32 board, an MPU-6050/6500
// breakout and a 1S LiPo, worn at the sacrum on a 40-50 mm elastic belt.
// Assembly, printing and wearing: hardware/README.md and hardware/MOUNTING.md.
//
//   openscad -o box.stl -D 'part="box"' hardware/enclosure.scad
//   openscad -o lid.stl -D 'part="lid"' hardware/enclosure.scad
//   openscad -o box.stl -D 'part="box"' -D 'board="devkitc"' -D belt_w=40 hardware/enclosure.scad
//
// Coordinates of this file, as worn (seen from behind the wearer):
//   +X  to the wearer's right      +Y  UP (superior, along the spine)
//   +Z  out of the body (posterior); the box floor (Z = 0) lies against the body.
// The IMU pocket holds the breakout with its printed X arrow along +Y and its
// component side up (+Z), which gives the recommended mounting of MOUNTING.md:
// sensor x = body up, sensor y = body left, sensor z = body backwards.
//
// Both parts print flat without supports: the box on its floor, the lid on its
// underside (the UP arrow is raised on the top face). Sizes in mm.

/* [Part] */
part = "box";         // "box" | "lid" | "assembly" (preview only)
board = "xiao";       // "xiao": Seeed XIAO ESP32-S3 (onboard charger)
                      // "devkitc": ESP32-DevKitC-32E + TP4056 module + LDO

/* [Components: pocket size [X, Y, height], clearance included] */
// Microcontroller board, USB connector at its lower (-Y) end, against the bottom wall.
// XIAO: 21 x 17.8 PCB. DevKitC-32E: about 55 x 28 PCB, 14 high with its pin headers.
mcu = board == "devkitc" ? [28.5, 55.5, 14] : [18.3, 21.5, 6];
// Height of the board's underside above the floor (wires to the XIAO's battery pads).
mcu_standoff = board == "devkitc" ? 0 : 1.5;
// USB plug notch in the bottom wall: [width, height of its lower edge above the floor].
mcu_usb = board == "devkitc" ? [12.5, 7] : [13, 0.8];
// IMU breakout: X = along the sensor's y axis, Y = along its printed X arrow.
// GY-521 is about 21.2 x 16.4: check which edge your breakout's X arrow is
// parallel to before printing and swap the first two values if needed.
imu = [16.9, 21.7, 6];
// LiPo pouch cell: 503035 (500 mAh, 5 x 30 x 35) or 603450 (1000 mAh, 6 x 34 x 50).
battery = board == "devkitc" ? [35, 51, 6.5] : [31, 36, 6];
// Separate charger module (TP4056 with protection, about 28 x 17), [0, 0, 0] if none.
charger = board == "devkitc" ? [17.5, 28.5, 5] : [0, 0, 0];
charger_usb = [12.5, 1];
// Slide switch notch in the right wall: [length along Y, depth from the wall top, centre Y].
switch_notch = [6.5, 4, board == "devkitc" ? 12 : 5.5];
// Light hole in the lid over the board's LED: [X, Y] from the MCU pocket's lower left, diameter.
led_hole_pos = board == "devkitc" ? [4, 50] : [14, 4];
led_hole_d = 2.5;                    // 0 for none

/* [Belt] */
belt_w = 50;          // elastic belt width, 40-50
belt_t = 2;           // belt thickness
belt_clearance = 1;   // extra slot length at each end

/* [Shell] */
wall = 2;
floor_t = 2.5;        // floor, also the belt flange
lid_t = 2.4;
corner_r = 3;         // outer corner radius
wire_space = 2;       // headroom above the tallest component
col_gap = 6.5;        // between the two component columns; holds the lid screw bosses
row_gap = 4;          // between components of one column
rib = [1.2, 2];       // locating ribs: [thickness, height]
boss_d = 6;           // lid screw bosses (M2 x 6 self-tapping screws)
pilot_d = 1.8;
screw_d = 2.4;
screw_head = [4.4, 1.0];  // counterbore in the lid: [diameter, depth]
emboss_h = 0.8;       // UP arrow height above the lid

$fn = 32;

// ---- derived layout (inner coordinates: origin at the inner lower-left corner, floor top at Z = 0)
col_b_w = max(imu[0], mcu[0]);                                  // IMU over MCU, left
col_b_len = imu[1] + row_gap + mcu[1];
col_a_w = max(battery[0], charger[0]);                          // battery over charger, right
col_a_len = battery[1] + (charger[1] > 0 ? row_gap + charger[1] : 0);
in_x = col_b_w + col_gap + col_a_w;
in_y = max(col_a_len, col_b_len);
h_in = max(imu[2], mcu[2], battery[2], charger[2]) + wire_space;
out_x = in_x + 2 * wall;
out_y = in_y + 2 * wall;
slot_w = belt_t + 1.5;
slot_len = belt_w + 2 * belt_clearance;
slot_rim = 4;                                                   // flange outside the slot
flange_w = 1 + slot_w + slot_rim;
plate_x = out_x + 2 * flange_w;
plate_y = max(out_y, slot_len + 2 * slot_rim);
box_h = floor_t + h_in;
col_a_x = col_b_w + col_gap;

imu_pos = [(col_b_w - imu[0]) / 2, in_y - imu[1]];
mcu_pos = [(col_b_w - mcu[0]) / 2, 0];
battery_pos = [col_a_x + (col_a_w - battery[0]) / 2, in_y - battery[1]];
charger_pos = [col_a_x, 0];
boss_x = col_b_w + col_gap / 2;
bosses = [[boss_x, boss_d / 2 - 0.5], [boss_x, in_y - boss_d / 2 + 0.5]];

assert(belt_w >= 20 && belt_w <= 60, "belt_w: 20-60 mm");
assert(col_gap >= boss_d, "col_gap must leave room for the lid screw bosses");
assert(imu[2] < h_in && mcu[2] < h_in, "components taller than the box");
// The lid screws sit between the columns, so columns of different widths make
// the screw pattern asymmetric: the lid (and its UP arrow) fits one way only.
assert(abs(col_b_w - col_a_w) >= 2 * screw_d,
       "the two columns are nearly equally wide, so the lid would also fit upside down");

bbox = part == "lid" ? [out_x, out_y, lid_t + emboss_h] : [plate_x, plate_y, box_h];
echo(str("SACRUM_ENCLOSURE part=", part, " board=", board, " bbox=", bbox,
         " inner=", [in_x, in_y, h_in], " outer=", [out_x, out_y], " slot=", [slot_w, slot_len]));

// ---- helpers
module rrect(size, r, h) {  // rounded rectangle, lower-left corner at the origin
    hull() for (x = [r, size[0] - r], y = [r, size[1] - r])
        translate([x, y, 0]) cylinder(r = r, h = h, $fn = 24);
}

module ribs_around(pos, size) {  // locating ribs with wire gaps in the middle of each side
    translate([pos[0], pos[1], 0]) difference() {
        translate([-rib[0], -rib[0], 0]) cube([size[0] + 2 * rib[0], size[1] + 2 * rib[0], rib[1]]);
        translate([0, 0, -1]) cube([size[0], size[1], rib[1] + 2]);
        translate([size[0] / 2 - 3, -5, -1]) cube([6, size[1] + 10, rib[1] + 2]);
        translate([-5, size[1] / 2 - 3, -1]) cube([size[0] + 10, 6, rib[1] + 2]);
    }
}

module arrow_2d(len, w) {  // pointing +Y, base at the origin
    head = w * 0.8;
    polygon([[-w * 0.18, 0], [w * 0.18, 0], [w * 0.18, len - head], [w / 2, len - head],
             [0, len], [-w / 2, len - head], [-w * 0.18, len - head]]);
}

module letter_u(h) {
    w = 0.68 * h; s = 0.2 * h;
    difference() {
        union() { translate([0, w / 2]) square([w, h - w / 2]); translate([w / 2, w / 2]) circle(d = w); }
        union() { translate([s, w / 2]) square([w - 2 * s, h]); translate([w / 2, w / 2]) circle(d = w - 2 * s); }
    }
}

module letter_p(h) {
    w = 0.64 * h; s = 0.2 * h; bh = 0.58 * h;
    square([s, h]);
    translate([0, h - bh]) difference() {
        hull() { square([0.01, bh]); translate([w - bh / 2, bh / 2]) circle(d = bh); }
        hull() { translate([s, s]) square([0.01, bh - 2 * s]); translate([w - bh / 2, bh / 2]) circle(d = bh - 2 * s); }
    }
}

module up_mark(h) {  // arrow over the letters "UP", centred on the origin, total height h
    lh = 0.3 * h;
    translate([0, -h / 2 + lh + 0.12 * h]) arrow_2d(h - lh - 0.12 * h, 0.45 * h);
    translate([-0.72 * lh, -h / 2]) letter_u(lh);
    translate([0.08 * lh, -h / 2]) letter_p(lh);
}

// ---- box
module box() {
    difference() {
        union() {
            // floor and belt flange
            translate([-flange_w - wall, (out_y - plate_y) / 2 - wall, -floor_t])
                rrect([plate_x, plate_y], corner_r, floor_t);
            // walls
            translate([0, 0, -floor_t + 0.01]) difference() {
                translate([-wall, -wall, 0]) rrect([out_x, out_y], corner_r, box_h - 0.01);
                translate([0, 0, floor_t]) cube([in_x, in_y, box_h]);
            }
            ribs_around(imu_pos, imu);
            ribs_around(mcu_pos, mcu);
            ribs_around(battery_pos, battery);
            if (charger[1] > 0) ribs_around(charger_pos, charger);
            if (mcu_standoff > 0)  // rails under the board's long edges, wires pass between them
                for (x = [mcu_pos[0], mcu_pos[0] + mcu[0] - 1.5])
                    translate([x, mcu_pos[1], 0]) cube([1.5, mcu[1], mcu_standoff]);
            for (b = bosses) translate([b[0], b[1], 0]) cylinder(d = boss_d, h = h_in);
        }
        // belt slots through the flange
        for (x = [-wall - 1 - slot_w / 2, in_x + wall + 1 + slot_w / 2])
            translate([x, in_y / 2, -floor_t - 1]) hull()
                for (y = [-1, 1]) translate([0, y * (slot_len - slot_w) / 2, 0])
                    cylinder(d = slot_w, h = floor_t + 2);
        // USB plug notches in the bottom wall, open to the top (the lid closes them)
        translate([mcu_pos[0] + mcu[0] / 2 - mcu_usb[0] / 2, -wall - 1, mcu_usb[1]])
            cube([mcu_usb[0], wall + 2, h_in]);
        if (charger[1] > 0)
            translate([charger_pos[0] + charger[0] / 2 - charger_usb[0] / 2, -wall - 1, charger_usb[1]])
                cube([charger_usb[0], wall + 2, h_in]);
        // slide switch actuator notch in the right wall, open to the top
        translate([in_x - 1, switch_notch[2] - switch_notch[0] / 2, h_in - switch_notch[1]])
            cube([wall + 2, switch_notch[0], switch_notch[1] + 1]);
        // screw pilot holes
        for (b = bosses) translate([b[0], b[1], 1]) cylinder(d = pilot_d, h = h_in);
        // arrow engraved in the IMU pocket: the breakout's printed X arrow points this way
        translate([imu_pos[0] + imu[0] / 2, imu_pos[1] + imu[1] * 0.2, -0.4])
            linear_extrude(1) arrow_2d(imu[1] * 0.6, min(imu[0], imu[1]) * 0.5);
    }
}

// ---- lid
module lid() {
    difference() {
        translate([-wall, -wall, 0]) rrect([out_x, out_y], corner_r, lid_t);
        for (b = bosses) translate([b[0], b[1], -1]) {
            cylinder(d = screw_d, h = lid_t + 2);
            translate([0, 0, lid_t + 1 - screw_head[1]]) cylinder(d = screw_head[0], h = lid_t);
        }
        if (led_hole_d > 0)
            translate([mcu_pos[0] + led_hole_pos[0], mcu_pos[1] + led_hole_pos[1], -1])
                cylinder(d = led_hole_d, h = lid_t + 2);
    }
    // raised UP arrow, centred between the columns and screws
    mark_h = min(0.7 * in_y, 1.2 * col_a_w);
    translate([col_a_x + col_a_w / 2, in_y / 2, lid_t - 0.01])
        linear_extrude(emboss_h + 0.01) up_mark(mark_h);
}

// ---- parts, centred on the origin in X and Y, resting on Z = 0
if (part == "box") {
    translate([-in_x / 2, -in_y / 2, floor_t]) box();
} else if (part == "lid") {
    translate([-in_x / 2, -in_y / 2, 0]) lid();
} else if (part == "assembly") {
    translate([-in_x / 2, -in_y / 2, floor_t]) {
        box();
        %translate([0, 0, h_in + 8]) lid();
    }
} else {
    assert(false, str("part must be \"box\", \"lid\" or \"assembly\", not \"", part, "\""));
}
